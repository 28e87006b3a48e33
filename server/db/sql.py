"""Small SQL helpers that read the same on SQLite and PostgreSQL."""

from __future__ import annotations

from typing import Any

from sqlalchemy import Connection, insert
from sqlalchemy.orm import InstrumentedAttribute


def insert_if_absent(
    conn: Connection, key: InstrumentedAttribute[Any], values: dict[str, Any]
) -> bool:
    """INSERT ``values`` unless a row with the same unique key exists; True if inserted.

    Uses ``ON CONFLICT DO NOTHING`` (PostgreSQL) or ``OR IGNORE`` (SQLite) with RETURNING,
    because rowcount is not reliable for these statements on every driver.
    """
    table = key.class_
    if conn.dialect.name == "postgresql":
        from sqlalchemy.dialects.postgresql import insert as pg_insert

        stmt: Any = pg_insert(table).values(values).on_conflict_do_nothing()
    else:
        stmt = insert(table).values(values).prefix_with("OR IGNORE")
    return conn.execute(stmt.returning(key)).first() is not None
