"""The connector database: engine set-up (SQLite WAL or PostgreSQL) and its migrations.

SQLite is the embedded default: WAL so readers never wait for the writer, a busy timeout so
writers queue instead of failing, and ``BEGIN IMMEDIATE`` so a transaction that reads then
writes takes the write lock up front (a deferred upgrade can fail with "database is locked"
whatever the timeout). PostgreSQL is used through psycopg 3.
"""

from __future__ import annotations

import os
import threading
import time
import weakref
from collections.abc import Iterator
from contextlib import AbstractContextManager, contextmanager, nullcontext
from pathlib import Path
from typing import Any

from sqlalchemy import Connection, Engine, create_engine, event, text
from sqlalchemy.engine import make_url
from sqlalchemy.exc import DisconnectionError
from sqlalchemy.orm import Session, sessionmaker

__all__ = ["Database", "normalize_database_url", "upgrade"]

MIGRATIONS_DIR = Path(__file__).parent / "migrations"
VERSION_TABLE = "connector_alembic_version"
_BUSY_TIMEOUT_MS = 30_000
# Any constant works; it only has to be the same in every process migrating this database.
_PG_MIGRATION_LOCK = 0x6B6C6971
_IDLE_PING_SECONDS = 5.0
_RECYCLE_SECONDS = 3600
# PostgreSQL connections kept per process, and the most it opens. No overflow: SQLAlchemy
# closes an overflow connection as soon as it comes back, and under a burst of webhooks (the
# web app runs up to 40 handler threads) that was a new PostgreSQL backend (a fork and an
# authentication) every few requests, a third of the database's CPU per product. Threads
# beyond this many wait for a connection instead (up to the pool's 30 s timeout).
_PG_POOL_SIZE = 20


def normalize_database_url(url: str) -> str:
    """Use psycopg 3 for bare ``postgresql://`` URLs; create the folder of a SQLite file."""
    parsed = make_url(url)
    if parsed.drivername in ("postgresql", "postgres"):
        parsed = parsed.set(drivername="postgresql+psycopg")
    if parsed.get_backend_name() == "sqlite" and parsed.database not in (None, "", ":memory:"):
        Path(str(parsed.database)).parent.mkdir(parents=True, exist_ok=True)
    return parsed.render_as_string(hide_password=False)


class Database:
    """An engine plus a session factory; safe to use across ``fork()`` (Celery prefork)."""

    def __init__(self, url: str, *, echo: bool = False) -> None:
        self.url = normalize_database_url(url)
        self.engine = _create_engine(self.url, echo=echo)
        self.sessions = sessionmaker(self.engine, expire_on_commit=False)
        # The same pool; each checkout in autocommit (psycopg 3: no BEGIN/COMMIT round trips).
        self._autocommit = self.engine.execution_options(isolation_level="AUTOCOMMIT")
        self._writer = _process_lock(self.engine)
        _LIVE.add(self)

    @property
    def is_sqlite(self) -> bool:
        """True for the embedded SQLite backend."""
        return self.engine.dialect.name == "sqlite"

    @contextmanager
    def transaction(self) -> Iterator[Session]:
        """A session inside one transaction: committed on success, rolled back on error."""
        with self._writer, self.sessions.begin() as session:
            yield session

    @contextmanager
    def begin(self) -> Iterator[Connection]:
        """A Core connection inside one transaction, for single statements on hot paths.

        A few times cheaper than a :class:`Session` (no unit of work, no identity map); the
        worker runs about ten of these per product.
        """
        with self._writer, self.engine.begin() as conn:
            yield conn

    @contextmanager
    def statement(self) -> Iterator[Connection]:
        """A Core connection for ONE statement, atomic on its own.

        On PostgreSQL it runs in autocommit: one round trip instead of three (``BEGIN``, the
        statement, ``COMMIT``). On SQLite it is :meth:`begin` (the write lock is what orders
        the writers there).
        """
        if self.is_sqlite:
            with self.begin() as conn:
                yield conn
        else:
            with self._autocommit.connect() as conn:
                yield conn

    def ping(self) -> None:
        """Run ``SELECT 1``; raises when the database cannot be reached."""
        with self.engine.connect() as conn:
            conn.execute(text("SELECT 1"))

    def dispose(self) -> None:
        """Close every pooled connection."""
        self.engine.dispose()

    def _after_fork(self) -> None:
        # A forked child must not reuse the parent's sockets/file handles (SQLAlchemy docs,
        # "Using Connection Pools with Multiprocessing"): drop them without closing.
        self.engine.dispose(close=False)
        self._writer = _process_lock(self.engine)  # another thread may have held it at fork


_LIVE: weakref.WeakSet[Database] = weakref.WeakSet()


def _dispose_all_after_fork() -> None:
    for database in list(_LIVE):
        database._after_fork()


os.register_at_fork(after_in_child=_dispose_all_after_fork)


def _process_lock(engine: Engine) -> AbstractContextManager[Any]:
    """One transaction at a time per process on SQLite; nothing on PostgreSQL.

    Every SQLite transaction here starts with ``BEGIN IMMEDIATE``, so they run one at a time
    anyway. Without this lock the threads of one process (the web app's thread pool) wait for
    each other inside SQLite's busy handler, which sleeps 1, 2, 5, 10... ms between tries and
    lets late arrivals overtake: seconds-long tails under a burst of webhooks. A lock hands
    over at once. It is re-entrant, so a nested transaction in one thread cannot deadlock.
    """
    return threading.RLock() if engine.dialect.name == "sqlite" else nullcontext()


def _create_engine(url: str, *, echo: bool) -> Engine:
    if make_url(url).get_backend_name() != "sqlite":
        engine = create_engine(
            url,
            echo=echo,
            pool_recycle=_RECYCLE_SECONDS,
            pool_size=_PG_POOL_SIZE,
            max_overflow=0,
        )
        event.listen(engine, "checkin", _note_checkin)
        event.listen(engine, "checkout", _ping_if_idle)
        return engine
    engine = create_engine(
        url,
        echo=echo,
        connect_args={"timeout": _BUSY_TIMEOUT_MS / 1000, "check_same_thread": False},
    )
    event.listen(engine, "connect", _sqlite_on_connect)
    event.listen(engine, "begin", _sqlite_on_begin)
    return engine


def _note_checkin(_dbapi_connection: Any, record: Any) -> None:
    record.info["kliqs_checked_in"] = time.monotonic()


def _ping_if_idle(dbapi_connection: Any, record: Any, _proxy: Any) -> None:
    """Check a connection that sat in the pool for a while before handing it out.

    ``pool_pre_ping`` would do this at every checkout: a round trip per statement on the
    workers' hot path, where connections come back within milliseconds. A connection idle
    for :data:`_IDLE_PING_SECONDS` (long enough for a database restart to have dropped it) is
    pinged; a dead one is replaced (SQLAlchemy's documented ``DisconnectionError`` recipe).
    """
    checked_in = record.info.get("kliqs_checked_in")
    if checked_in is None or time.monotonic() - checked_in < _IDLE_PING_SECONDS:
        return
    try:
        cursor = dbapi_connection.cursor()
        cursor.execute("SELECT 1")
        cursor.close()
        dbapi_connection.rollback()
    except Exception as exc:
        raise DisconnectionError("connection dropped while idle in the pool") from exc


def _sqlite_on_connect(dbapi_connection: Any, _record: Any) -> None:
    # Take transaction control from pysqlite so "begin" below decides how to start one.
    dbapi_connection.isolation_level = None
    cursor = dbapi_connection.cursor()
    cursor.execute("PRAGMA journal_mode=WAL")
    cursor.execute(f"PRAGMA busy_timeout={_BUSY_TIMEOUT_MS}")
    cursor.execute("PRAGMA foreign_keys=ON")
    cursor.execute("PRAGMA synchronous=NORMAL")
    cursor.close()


def _sqlite_on_begin(conn: Connection) -> None:
    conn.exec_driver_sql("BEGIN IMMEDIATE")


def upgrade(database: Database, revision: str = "head") -> None:
    """Apply the connector's Alembic migrations (version table ``connector_alembic_version``).

    Safe to call from every process at start: SQLite serialises it with ``BEGIN IMMEDIATE``,
    PostgreSQL with a transaction-level advisory lock.
    """
    from alembic import command
    from alembic.config import Config

    config = Config()
    config.set_main_option("script_location", str(MIGRATIONS_DIR))
    with database.engine.begin() as conn:
        if conn.dialect.name == "postgresql":
            conn.execute(text("SELECT pg_advisory_xact_lock(:key)"), {"key": _PG_MIGRATION_LOCK})
        config.attributes["connection"] = conn
        command.upgrade(config, revision)
