"""The connector's one statement run on psycopg directly: a batch's new products.

It runs before every webhook's 200, on the one writer thread, and is not a Core statement
(arrays in, ``unnest`` in SQL), so it cannot be a :class:`kliqs_core.hotsql.HotStatement`.
SQLAlchemy's execution layer cost more CPU than psycopg itself there (175 vs 90 µs a row,
measured). Driver errors are raised as SQLAlchemy's, so callers catch the same
``IntegrityError``.
"""

from __future__ import annotations

from typing import Any

import psycopg
from sqlalchemy import Connection
from sqlalchemy.exc import DBAPIError

__all__ = ["send_on_psycopg"]


def send_on_psycopg(conn: Connection, sql: str, params: dict[str, Any]) -> psycopg.Cursor[Any]:
    """Execute ``sql`` on ``conn``'s psycopg connection (prepared); the cursor holds the
    result. A broken connection leaves the pool anyway: its reset on return fails."""
    driver: psycopg.Connection[Any] = conn.connection.driver_connection  # type: ignore[assignment]
    cursor = driver.cursor()
    try:
        cursor.execute(sql, params, prepare=True)
    except psycopg.Error as exc:
        cursor.close()
        raise DBAPIError.instance(sql, params, exc, psycopg.Error) from exc
    return cursor
