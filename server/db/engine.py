"""Engine construction: SQLite in WAL mode by default, PostgreSQL by URL."""

from __future__ import annotations

from typing import Any

from sqlalchemy import Engine, create_engine, event
from sqlalchemy.pool import NullPool

from server.config import Settings
from server.db.checkpoint import FALLBACK_PAGES


def make_engine(settings: Settings, *, pool: bool = True, writer: bool = True) -> Engine:
    """Build the engine for ``settings``; creates the SQLite data directory if needed.

    On SQLite a ``writer`` engine takes the write lock when a transaction begins; a reader
    engine (the redirect path, stats) begins deferred so it never waits for writers.
    """
    url = settings.sqlalchemy_url
    if url.startswith("sqlite"):
        return _sqlite_engine(settings, url, pool=pool, writer=writer)
    kwargs: dict[str, Any] = {"pool_pre_ping": True}
    if pool:
        kwargs.update(pool_size=10, max_overflow=20)
    else:
        kwargs["poolclass"] = NullPool
    return create_engine(url, **kwargs)


def _sqlite_engine(settings: Settings, url: str, *, pool: bool, writer: bool) -> Engine:
    settings.data_dir.mkdir(parents=True, exist_ok=True)
    engine = create_engine(
        url,
        connect_args={"check_same_thread": False, "timeout": 30},
        **({} if pool else {"poolclass": NullPool}),
    )

    @event.listens_for(engine, "connect")
    def _pragmas(dbapi_conn: Any, _record: Any) -> None:
        # WAL lets readers run beside the writer; NORMAL sync is durable across process
        # crashes (WAL), losing at most the last commits on power loss.
        dbapi_conn.isolation_level = None  # we issue BEGIN ourselves (see below)
        cur = dbapi_conn.cursor()
        cur.execute("PRAGMA journal_mode=WAL")
        cur.execute("PRAGMA synchronous=NORMAL")
        cur.execute("PRAGMA foreign_keys=ON")
        cur.execute("PRAGMA busy_timeout=30000")
        if writer:
            # Checkpoints run in a thread of their own (server/db/checkpoint.py); a commit
            # only does one if that thread falls far behind.
            cur.execute(f"PRAGMA wal_autocheckpoint={FALLBACK_PAGES}")
        cur.close()

    begin = "BEGIN IMMEDIATE" if writer else "BEGIN"

    @event.listens_for(engine, "begin")
    def _begin(conn: Any) -> None:
        # A writer takes the write lock at BEGIN: a deferred transaction that reads then
        # writes can fail with SQLITE_BUSY instead of waiting, which would break exact quotas.
        # (Straight on the driver: this runs for every API request.)
        conn.connection.driver_connection.execute(begin)

    return engine


def is_sqlite(engine: Engine) -> bool:
    """True when ``engine`` talks to SQLite."""
    return engine.dialect.name == "sqlite"
