"""The bot's tables come with the connector's migration chain and match the models."""

from __future__ import annotations

from pathlib import Path

import pytest
from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from sqlalchemy import inspect, text

from kliqs_core.connector.db import VERSION_TABLE, Database, upgrade
from kliqs_core.connector.models import Base
from kliqs_testing.databases import postgres_database

TABLES = {"wa_subscribers", "wa_inbound_messages", "wa_message_statuses", "wa_deliveries"}


def _check(database: Database) -> None:
    upgrade(database)
    upgrade(database)
    assert TABLES <= set(inspect(database.engine).get_table_names())
    with database.engine.connect() as conn:
        versions = conn.execute(text(f"SELECT version_num FROM {VERSION_TABLE}")).scalars().all()
        assert versions == ["0002_whatsapp_bot"]
        context = MigrationContext.configure(conn, opts={"version_table": VERSION_TABLE})
        assert compare_metadata(context, Base.metadata) == []
    inspector = inspect(database.engine)
    uniques = {
        table: {tuple(u["column_names"]) for u in inspector.get_unique_constraints(table)}
        for table in TABLES
    }
    assert ("wamid",) in uniques["wa_inbound_messages"]
    assert ("wamid", "status") in uniques["wa_message_statuses"]
    assert ("product_pk", "recipient") in uniques["wa_deliveries"]
    assert ("phone",) in uniques["wa_subscribers"]


def test_sqlite(tmp_path: Path) -> None:
    database = Database(f"sqlite:///{tmp_path / 'connector.sqlite'}")
    try:
        _check(database)
    finally:
        database.dispose()


@pytest.mark.postgres
def test_postgres() -> None:
    pg = postgres_database()
    database = Database(pg.url)
    try:
        _check(database)
    finally:
        database.dispose()
        pg.drop()
