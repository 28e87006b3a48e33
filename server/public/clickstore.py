"""Writing a batch of clicks: the rows and the links' counters in one transaction.

Each statement carries the whole batch (SQLite: a JSON array read by ``json_each``;
PostgreSQL: arrays read by ``unnest``), so the database does the per-row work in one call.
Row-by-row ``executemany`` would hand the GIL back and forth with the event loop once per
row, and those thread switches cost more than the inserts.
"""

from __future__ import annotations

import json
from collections import Counter
from datetime import datetime
from typing import Any

from sqlalchemy import Connection, Engine, delete, insert, select
from sqlalchemy.exc import IntegrityError

from server.clock import utcnow
from server.db.models import ClickBatch, Link

# (link_id, ts, referrer_host, browser, os, device, is_bot, country, visitor_hash); ts is
# naive UTC, as text on SQLite (SQLAlchemy's format) and a datetime on PostgreSQL.
Row = tuple[Any, ...]
COLUMNS = ("link_id", "ts", "referrer_host", "browser", "os", "device", "is_bot", "country",
           "visitor_hash")
_LINKS = Link.__table__
_BATCHES = ClickBatch.__table__

_SQLITE_INSERT = (
    f"INSERT INTO clicks ({', '.join(COLUMNS)}) SELECT "
    + ", ".join(f"value->>{i}" for i in range(len(COLUMNS)))
    + " FROM json_each(?)"
)
_SQLITE_COUNT = (
    "UPDATE links SET clicks = clicks + batch.n FROM "
    "(SELECT value->>0 AS id, value->>1 AS n FROM json_each(?)) AS batch "
    "WHERE links.id = batch.id"
)
_PG_TYPES = ("varchar", "timestamp", "varchar", "varchar", "varchar", "varchar", "boolean",
             "varchar", "varchar")
_PG_INSERT = (
    f"INSERT INTO clicks ({', '.join(COLUMNS)}) SELECT * FROM unnest("
    + ", ".join(f"%s::{kind}[]" for kind in _PG_TYPES)
    + ")"
)
# Rows locked in id order first: two workers' batches never wait on each other in a cycle.
_PG_LOCK = "SELECT id FROM links WHERE id = ANY(%s::varchar[]) ORDER BY id FOR UPDATE"
_PG_COUNT = (
    "UPDATE links SET clicks = links.clicks + batch.n "
    "FROM unnest(%s::varchar[], %s::int[]) AS batch(id, n) WHERE links.id = batch.id"
)


_PART = 500  # rows per statement: each JSON encoding holds the GIL well under a millisecond


class AlreadyStored(Exception):
    """The spool batch being stored was stored before (a crash came between its commit and
    the file's removal, or another ingester took it)."""


def store(engine: Engine, rows: list[Row], batches: list[str] | None = None) -> None:
    """Insert ``rows`` and add them to ``links.clicks``, atomically.

    With ``batches`` (spool files' names) the same transaction records the names, and a
    name recorded before raises :class:`AlreadyStored` with nothing written.
    """
    counts = sorted(Counter(row[0] for row in rows).items())
    with engine.begin() as conn:
        if batches:
            _claim(conn, batches)
        if not rows:
            return
        if conn.dialect.name == "sqlite":
            _sqlite(conn, rows, counts)
        else:
            _postgres(conn, rows, counts)


def _claim(conn: Connection, batches: list[str]) -> None:
    now = utcnow()
    try:
        with conn.begin_nested():
            conn.execute(insert(_BATCHES), [{"name": name, "stored_at": now} for name in batches])
    except IntegrityError as exc:
        raise AlreadyStored(", ".join(batches)) from exc


def forget_batches(engine: Engine, older_than: datetime) -> None:
    """Drop the names of batches stored before ``older_than`` (their files are long gone:
    the ingester removes a file right after its commit)."""
    with engine.begin() as conn:
        conn.execute(delete(_BATCHES).where(_BATCHES.c.stored_at < older_than))


def _sqlite(conn: Connection, rows: list[Row], counts: list[tuple[str, int]]) -> None:
    for start in range(0, len(rows), _PART):
        conn.exec_driver_sql(_SQLITE_INSERT, (json.dumps(rows[start:start + _PART]),))
    for start in range(0, len(counts), _PART):
        conn.exec_driver_sql(_SQLITE_COUNT, (json.dumps(counts[start:start + _PART]),))


def _postgres(conn: Connection, rows: list[Row], counts: list[tuple[str, int]]) -> None:
    conn.exec_driver_sql(_PG_INSERT, tuple(list(column) for column in zip(*rows, strict=True)))
    ids = [link_id for link_id, _ in counts]
    conn.exec_driver_sql(_PG_LOCK, (ids,))
    conn.exec_driver_sql(_PG_COUNT, (ids, [n for _, n in counts]))


def existing(engine: Engine, rows: list[Row]) -> list[Row]:
    """``rows`` whose link still exists (a deleted account takes its links along)."""
    ids = {row[0] for row in rows}
    with engine.connect() as conn:
        alive = set(conn.execute(select(_LINKS.c.id).where(_LINKS.c.id.in_(ids))).scalars())
    return [row for row in rows if row[0] in alive]
