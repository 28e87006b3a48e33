"""Small SQL helpers that read the same on SQLite and PostgreSQL."""

from __future__ import annotations

from functools import cache
from typing import Any

from sqlalchemy import Connection, Table, insert
from sqlalchemy.orm import InstrumentedAttribute

from kliqs_core.hotsql import HotStatement


@cache
def _insert_ignore(dialect: str, table: Table, key: str, columns: tuple[str, ...]) -> HotStatement:
    column = table.c[key]
    if dialect == "postgresql":
        from sqlalchemy.dialects.postgresql import insert as pg_insert

        stmt: Any = pg_insert(table).on_conflict_do_nothing().returning(column)
    else:
        stmt = insert(table).prefix_with("OR IGNORE").returning(column)
    return HotStatement(stmt, column_keys=columns)


def insert_if_absent(
    conn: Connection, key: InstrumentedAttribute[Any], values: dict[str, Any]
) -> bool:
    """INSERT ``values`` unless a row with the same unique key exists; True if inserted.

    Uses ``ON CONFLICT DO NOTHING`` (PostgreSQL) or ``OR IGNORE`` (SQLite) with RETURNING,
    because rowcount is not reliable for these statements on every driver. The statement is
    compiled once per table, columns and dialect.
    """
    table = key.class_.__table__
    stmt = _insert_ignore(conn.dialect.name, table, key.key, tuple(values))
    return stmt.execute(conn, values).first() is not None
