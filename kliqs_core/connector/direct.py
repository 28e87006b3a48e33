"""Statements run on the database driver directly: the few that run before every webhook's 200.

On that path, on the one writer thread, SQLAlchemy's execution layer (events, parameter
processing, result wrapping) cost more CPU than the drivers themselves, measured: 175 vs
90 µs a row on PostgreSQL; on SQLite the layer was four fifths of a webhook's two inserts.
The statements are still built with SQLAlchemy, and on SQLite its types' bind processors
make the values, so what is stored is what SQLAlchemy would store. Driver errors are raised
as SQLAlchemy's, so callers catch the same ``IntegrityError`` and ``OperationalError``.
"""

from __future__ import annotations

import sqlite3
from collections.abc import Callable, Mapping
from typing import Any, cast

import psycopg
from sqlalchemy import Connection, Dialect
from sqlalchemy.exc import DBAPIError
from sqlalchemy.sql import ClauseElement
from sqlalchemy.sql.compiler import SQLCompiler

__all__ = ["SqliteStatement", "send_on_psycopg"]


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


Processor = Callable[[Any], Any] | None
Compiled = tuple[str, list[tuple[str, Processor]]]


class SqliteStatement:
    """A Core statement compiled once for SQLite, run on the ``sqlite3`` connection.

    ``column_keys``: for an ``INSERT`` without values, the columns its parameters give.
    """

    def __init__(self, statement: ClauseElement, column_keys: list[str] | None = None) -> None:
        self._statement = statement
        self._column_keys = column_keys
        self._compiled: Compiled | None = None

    def _compile(self, dialect: Dialect) -> Compiled:
        if self._compiled is None:
            compiled = cast(SQLCompiler, self._statement.compile(
                dialect=dialect, column_keys=self._column_keys))
            names = compiled.positiontup or []
            binds: list[tuple[str, Processor]] = [
                (name, compiled.binds[name].type.bind_processor(dialect)) for name in names
            ]
            self._compiled = (compiled.string, binds)
        return self._compiled

    def execute(self, conn: Connection, params: Mapping[str, Any]) -> list[tuple[Any, ...]]:
        """Run in ``conn``'s transaction; the rows it returns (``RETURNING``), all fetched so
        no statement stays active until the commit."""
        sql, binds = self._compile(conn.dialect)
        values = [params[name] if process is None else process(params[name])
                  for name, process in binds]  # fmt: skip
        driver: sqlite3.Connection = conn.connection.driver_connection  # type: ignore[assignment]
        try:
            cursor = driver.execute(sql, values)
            try:
                return cursor.fetchall()
            finally:
                cursor.close()
        except sqlite3.Error as exc:
            raise DBAPIError.instance(sql, values, exc, sqlite3.Error) from exc
