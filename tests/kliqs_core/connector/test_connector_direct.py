"""Statements run on the sqlite3 connection directly store what SQLAlchemy would store."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path

import pytest
from sqlalchemy import Column, Integer, MetaData, String, Table, insert, text
from sqlalchemy.exc import IntegrityError, OperationalError
from sqlalchemy.types import JSON

from kliqs_core.connector.db import Database
from kliqs_core.connector.direct import SqliteStatement
from kliqs_core.connector.models import UTCDateTime

NOTES = Table(
    "notes", MetaData(),
    Column("id", Integer, primary_key=True), Column("key", String, unique=True),
    Column("data", JSON), Column("at", UTCDateTime), Column("body", String),
)  # fmt: skip
ROW = {"key": "k1", "data": {"harga": "Rp 150.000", "emoji": "🛍️"},
       "at": datetime(2026, 12, 5, 13, 45, 12, 147358, tzinfo=UTC), "body": None}  # fmt: skip
DIRECT_INSERT = SqliteStatement(insert(NOTES).returning(NOTES.c.id),
                                column_keys=["key", "data", "at", "body"])  # fmt: skip


@pytest.fixture
def database(tmp_path: Path) -> Database:
    database = Database(f"sqlite:///{tmp_path / 'direct.db'}")
    NOTES.metadata.create_all(database.engine)
    return database


def stored(database: Database) -> list[tuple[object, ...]]:
    with database.begin() as conn:
        return [tuple(row) for row in conn.execute(text("SELECT key, data, at, body FROM notes"))]


def test_the_same_text_as_sqlalchemy_stores(database: Database) -> None:
    with database.begin() as conn:
        conn.execute(insert(NOTES), ROW)
    through_sqlalchemy = stored(database)
    with database.begin() as conn:
        conn.execute(text("DELETE FROM notes"))
        returned = DIRECT_INSERT.execute(conn, ROW)

    assert len(returned) == 1 and isinstance(returned[0][0], int)
    assert stored(database) == through_sqlalchemy
    assert through_sqlalchemy[0][2] == "2026-12-05 13:45:12.147358"  # naive UTC, as everywhere


def test_driver_errors_come_out_as_sqlalchemys(database: Database) -> None:
    with database.begin() as conn:
        DIRECT_INSERT.execute(conn, ROW)
    with pytest.raises(IntegrityError), database.begin() as conn:
        DIRECT_INSERT.execute(conn, ROW)
    with database.begin() as conn:
        conn.execute(text("DROP TABLE notes"))
    with pytest.raises(OperationalError, match="no such table"), database.begin() as conn:
        DIRECT_INSERT.execute(conn, ROW)
