"""Hot statements (run on the DB-API cursor) store what SQLAlchemy stores, and fail as it does."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path

import pytest
from kliqs_testing.databases import make_database
from sqlalchemy import (
    Column,
    Integer,
    MetaData,
    String,
    Table,
    bindparam,
    insert,
    select,
    text,
    update,
)  # fmt: skip
from sqlalchemy.exc import IntegrityError, OperationalError, ProgrammingError
from sqlalchemy.types import JSON

from kliqs_core.connector.db import Database
from kliqs_core.connector.models import UTCDateTime
from kliqs_core.hotsql import HotStatement

NOTES = Table(
    "notes", MetaData(),
    Column("id", Integer, primary_key=True), Column("key", String, unique=True),
    Column("data", JSON), Column("at", UTCDateTime), Column("body", String),
)  # fmt: skip
ROW = {"key": "k1", "data": {"harga": "Rp 150.000", "emoji": "🛍️"},
       "at": datetime(2026, 12, 5, 13, 45, 12, 147358, tzinfo=UTC), "body": None}  # fmt: skip
HOT_INSERT = HotStatement(insert(NOTES).returning(NOTES.c.id),
                          column_keys=["key", "data", "at", "body"])  # fmt: skip


@pytest.fixture(params=["sqlite", "postgres"])
def database(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[Database]:
    made = make_database(request.param, tmp_path)
    database = Database(made.url)
    NOTES.metadata.create_all(database.engine)
    try:
        yield database
    finally:
        database.dispose()
        made.drop()


def stored(database: Database) -> list[tuple[object, ...]]:
    with database.begin() as conn:
        return [tuple(row) for row in conn.execute(text("SELECT key, data, at, body FROM notes"))]


def test_the_same_values_as_sqlalchemy_stores(database: Database) -> None:
    with database.begin() as conn:
        conn.execute(insert(NOTES), ROW)
    through_sqlalchemy = stored(database)
    with database.begin() as conn:
        conn.execute(text("DELETE FROM notes"))
        returned = HOT_INSERT.execute(conn, ROW)

    assert len(returned.rows) == 1 and isinstance(returned.scalar(), int)
    assert stored(database) == through_sqlalchemy
    if database.is_sqlite:
        assert through_sqlalchemy[0][2] == "2026-12-05 13:45:12.147358"  # naive UTC text


def test_driver_errors_come_out_as_sqlalchemys(database: Database) -> None:
    with database.begin() as conn:
        HOT_INSERT.execute(conn, ROW)
    with pytest.raises(IntegrityError), database.begin() as conn:
        HOT_INSERT.execute(conn, ROW)
    with database.begin() as conn:
        conn.execute(text("DROP TABLE notes"))
    missing_table = OperationalError if database.is_sqlite else ProgrammingError
    with pytest.raises(missing_table, match="notes"), database.begin() as conn:
        HOT_INSERT.execute(conn, ROW)


def test_an_update_returns_rows_as_sqlalchemy_reads_them_and_autocommits(
    database: Database,
) -> None:
    with database.begin() as conn:
        conn.execute(insert(NOTES), ROW)
    changed = {"data": {"stok": 3, "nama": "Kaos Batik ✨"}, "body": "baru"}
    hot_update = HotStatement(update(NOTES).where(NOTES.c.key == bindparam("g_key"))
                              .returning(*NOTES.c), column_keys=list(changed))  # fmt: skip

    with database.statement() as conn:  # autocommit on PostgreSQL: no transaction of ours
        returned = hot_update.execute(conn, {"g_key": "k1", **changed}).first()
    with database.begin() as conn:
        read_back = tuple(conn.execute(select(NOTES)).one())

    assert returned == read_back
    assert returned is not None and returned[2] == changed["data"] and returned[3] == ROW["at"]


def test_an_in_list_is_refused_when_first_run(database: Database) -> None:
    hot_select = HotStatement(select(NOTES.c.id).where(NOTES.c.key.in_(["k1", "k2"])))
    with pytest.raises(ValueError, match="cannot expand IN"), database.begin() as conn:
        hot_select.execute(conn)
