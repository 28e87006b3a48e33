"""What a public code resolves to (a link, a Bio Page, or nothing) and how it is looked up.

On SQLite the lookup is one indexed read on a dedicated connection, run on the event loop
(microseconds, and WAL readers never wait for the writer). On PostgreSQL it goes to the
thread pool, and concurrent misses of one code share a single query.
"""

from __future__ import annotations

import asyncio
import json
import sqlite3
from datetime import UTC, datetime
from time import monotonic
from typing import Any, Protocol

from sqlalchemy import Engine, select
from starlette.concurrency import run_in_threadpool

from server.db.engine import is_sqlite
from server.db.models import BioPage, Link
from server.public.location import Headers, redirect_headers


# A link target is a plain tuple, not an object. The cache holds tens of thousands of them,
# and CPython's collector stops tracking a tuple that holds only strings, bytes, datetimes
# and None, so a full collection never walks them (as objects they made 100-500 ms pauses).
LINK_ID, CODE, DESTINATION, EXPIRES_AT, PASSWORD_HASH, TITLE, HEADERS = range(7)
LinkTarget = tuple[str, str, str, "datetime | None", "str | None", "str | None", Headers]


def link_target(
    link_id: str,
    code: str,
    destination: str,
    expires_at: datetime | None,
    password_hash: str | None,
    title: str | None,
) -> LinkTarget:
    """A live (possibly expired) link, with its 302 headers built once."""
    return (link_id, code, destination, expires_at, password_hash, title,
            redirect_headers(destination))


# Most links have neither password nor expiry, and their redirect needs only two things:
# the link id (for the click) and the Location value. Cached as ONE bytes object (a length
# byte, the id, then Location), a code costs about half of a (str, bytes) pair's memory and
# a fifth of a LinkTarget's: at 100,000 cached codes that is about 11 MB less per worker
# than the pair. Bytes are never tracked by the garbage collector either.
PlainTarget = bytes


def plain_target(link_id: str, destination: str) -> PlainTarget:
    """A link without password or expiry: ``len(id)``, the id and the ``Location`` value."""
    ident = link_id.encode("ascii")
    if len(ident) > 255:
        raise ValueError("link ids longer than 255 characters cannot be packed")
    return bytes((len(ident),)) + ident + destination.encode("ascii", "replace")


def unpack_plain(target: PlainTarget) -> tuple[str, bytes]:
    """(link id, ``Location`` value) of a :data:`PlainTarget`."""
    end = target[0] + 1
    return target[1:end].decode("ascii"), target[end:]


def is_plain(target: object) -> bool:
    """True for a :data:`PlainTarget`."""
    return type(target) is bytes


def expand(code: str, target: Target) -> Target:
    """``target`` with a :data:`PlainTarget` turned into the full :data:`LinkTarget`."""
    if type(target) is not bytes:
        return target
    link_id, location = unpack_plain(target)
    return link_target(link_id, code, location.decode("ascii"), None, None, None)


def is_link(target: object) -> bool:
    """True for a :data:`LinkTarget` or :data:`PlainTarget`."""
    return type(target) is tuple or type(target) is bytes


class BioTarget:
    """A Bio Page; its rendered HTML is memoised per language while the entry lives."""

    __slots__ = ("handle", "display_name", "text", "links", "pages")

    def __init__(self, handle: str, display_name: str, text: str, links: list[dict[str, str]]):
        self.handle = handle
        self.display_name = display_name
        self.text = text
        self.links = links
        self.pages: dict[str, bytes] = {}


class Absent:
    """No link here: never existed (404) or deleted (410)."""

    __slots__ = ("status",)

    def __init__(self, status: int) -> None:
        self.status = status


NOT_FOUND = Absent(404)
GONE = Absent(410)

Target = LinkTarget | PlainTarget | BioTarget | Absent


class TargetStore(Protocol):
    """Resolves a lower-case code to its target, and reads the link change feed."""

    async def resolve(self, code: str) -> Target: ...

    async def changes_since(self, seq: int) -> list[tuple[int, str]]: ...

    async def last_change(self) -> int: ...

    def refresh(self) -> None: ...

    def close(self) -> None: ...


def make_store(reader: Engine) -> TargetStore:
    """The store suited to the reader engine's database."""
    return SqliteStore(reader) if is_sqlite(reader) else ThreadedStore(reader)


def _aware(value: Any) -> datetime | None:
    if value is None:
        return None
    if isinstance(value, str):
        value = datetime.fromisoformat(value)
    return value.replace(tzinfo=UTC) if value.tzinfo is None else value.astimezone(UTC)


def _link(code: str, row: Any) -> Target:
    link_id, destination, expires_at, password_hash, title, deleted_at = row
    if deleted_at is not None:
        return GONE
    if expires_at is None and password_hash is None:
        return plain_target(str(link_id), destination)
    return link_target(str(link_id), code, destination, _aware(expires_at), password_hash, title)


def _bio(row: Any) -> BioTarget:
    handle, display_name, text, links = row
    if isinstance(links, str):
        links = json.loads(links)
    return BioTarget(handle, display_name, text or "", list(links or []))


_LINK_SQL = (
    "SELECT id, destination_url, expires_at, password_hash, title, deleted_at "
    "FROM links WHERE code = ?"
)
_BIO_SQL = "SELECT handle, display_name, text, links FROM bio_pages WHERE handle = ?"
_CHANGES_SQL = "SELECT seq, code FROM link_changes WHERE seq > ? ORDER BY seq LIMIT 10000"
_LAST_CHANGE_SQL = "SELECT coalesce(max(seq), 0) FROM link_changes"


class SqliteStore:
    """Lookups on one raw SQLite connection of the reader engine, on the event loop.

    Reads share one read transaction for up to ``SNAPSHOT_SECONDS`` (a WAL snapshot), which
    saves taking the WAL read lock per statement; :meth:`refresh` ends it at once when this
    worker changed a link, so its next read sees the change.
    """

    SNAPSHOT_SECONDS = 0.1

    def __init__(self, reader: Engine) -> None:
        self._reader = reader
        self._raw: Any = None
        self._snapshot_until = 0.0

    async def resolve(self, code: str) -> Target:
        """The target of ``code``; no await inside, so no task switch either."""
        return self.lookup(code)

    def lookup(self, code: str) -> Target:
        """One or two indexed reads (links, then bio pages).

        Nothing found in an older snapshot is looked up again in a fresh one: a link made
        a moment ago (by any worker) must redirect on its first click.
        """
        try:
            fresh, db = self._snapshot()
            found = self._read(db, code)
            if found is NOT_FOUND and not fresh:
                self._snapshot_until = 0.0
                found = self._read(self._snapshot()[1], code)
        except sqlite3.Error:
            self.close()  # a broken connection is replaced on the next lookup
            raise
        return found

    async def changes_since(self, seq: int) -> list[tuple[int, str]]:
        """Feed rows after ``seq`` (in this worker's read snapshot, like its lookups)."""
        try:
            return [(int(n), str(code))
                    for n, code in self._snapshot()[1].execute(_CHANGES_SQL, (seq,))]
        except sqlite3.Error:
            self.close()
            raise

    async def last_change(self) -> int:
        """The newest feed row's number (0 when empty)."""
        self._snapshot_until = 0.0
        try:
            return int(self._snapshot()[1].execute(_LAST_CHANGE_SQL).fetchone()[0])
        except sqlite3.Error:
            self.close()
            raise

    @staticmethod
    def _read(db: Any, code: str) -> Target:
        row = db.execute(_LINK_SQL, (code,)).fetchone()
        if row is not None:
            return _link(code, row)
        bio = db.execute(_BIO_SQL, (code,)).fetchone()
        return _bio(bio) if bio is not None else NOT_FOUND

    def _snapshot(self) -> tuple[bool, Any]:
        """(whether the snapshot was just taken, the connection)."""
        if self._raw is None:
            # Checked out for the process's life; the pool's pragmas (WAL, busy timeout) apply.
            self._raw = self._reader.raw_connection()
        db = self._raw.driver_connection
        now = monotonic()
        if now < self._snapshot_until:
            return False, db
        if db.in_transaction:
            db.execute("COMMIT")
        db.execute("BEGIN")
        self._snapshot_until = now + self.SNAPSHOT_SECONDS
        return True, db

    def refresh(self) -> None:
        """Read the database afresh from the next lookup on (a local change committed)."""
        self._snapshot_until = 0.0

    def close(self) -> None:
        """End the snapshot and give the connection back."""
        self._snapshot_until = 0.0
        if self._raw is not None:
            raw, self._raw = self._raw, None
            raw.close()  # the pool rolls the read transaction back


class ThreadedStore:
    """Lookups through SQLAlchemy in the thread pool (PostgreSQL)."""

    def __init__(self, reader: Engine) -> None:
        self._reader = reader
        self._inflight: dict[str, asyncio.Future[Target]] = {}

    async def resolve(self, code: str) -> Target:
        """The target of ``code``; concurrent callers for one code share one query."""
        task = self._inflight.get(code)
        if task is None:
            task = asyncio.ensure_future(run_in_threadpool(self.lookup, code))
            self._inflight[code] = task
            task.add_done_callback(lambda done: self._done(code, done))
        return await asyncio.shield(task)

    def _done(self, code: str, task: asyncio.Future[Target]) -> None:
        self._inflight.pop(code, None)
        if not task.cancelled():
            task.exception()  # retrieved here, so an unawaited failure is not logged twice

    async def changes_since(self, seq: int) -> list[tuple[int, str]]:
        """Feed rows after ``seq``."""
        return await run_in_threadpool(self._query, _CHANGES_SQL.replace("?", "%s"), (seq,))

    async def last_change(self) -> int:
        """The newest feed row's number (0 when empty)."""
        rows = await run_in_threadpool(self._query, _LAST_CHANGE_SQL, ())
        return int(rows[0][0])

    def _query(self, sql: str, params: tuple[Any, ...]) -> list[Any]:
        with self._reader.connect() as conn:
            return [tuple(row) for row in conn.exec_driver_sql(sql, params)]

    def lookup(self, code: str) -> Target:
        """One or two indexed reads (links, then bio pages)."""
        with self._reader.connect() as conn:
            row = conn.execute(
                select(Link.id, Link.destination_url, Link.expires_at, Link.password_hash,
                       Link.title, Link.deleted_at).where(Link.code == code)
            ).first()
            if row is not None:
                return _link(code, row)
            bio = conn.execute(
                select(BioPage.handle, BioPage.display_name, BioPage.text, BioPage.links)
                .where(BioPage.handle == code)
            ).first()
        return _bio(bio) if bio is not None else NOT_FOUND

    def refresh(self) -> None:
        """Nothing to refresh: every lookup reads afresh."""

    def close(self) -> None:
        """Nothing held between lookups."""
