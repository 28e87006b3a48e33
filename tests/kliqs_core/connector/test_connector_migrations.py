"""The connector database's migrations: applied at start, matching the models."""

from __future__ import annotations

from pathlib import Path

from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from alembic.script import ScriptDirectory
from sqlalchemy import inspect, text

import kliqs_core.connector.db as connector_db
from kliqs_core.connector.db import VERSION_TABLE, Database, upgrade
from kliqs_core.connector.models import Base


def test_upgrade_creates_the_tables_once_with_its_own_version_table(tmp_path: Path) -> None:
    database = Database(f"sqlite:///{tmp_path / 'sub' / 'connector.sqlite'}")
    upgrade(database)
    upgrade(database)  # every process runs it at start

    tables = set(inspect(database.engine).get_table_names())
    assert {"products", "webhook_inbox", "connector_alembic_version"} <= tables
    with database.engine.connect() as conn:
        versions = conn.execute(text(f"SELECT version_num FROM {VERSION_TABLE}")).scalars().all()
        assert versions == [_head()]
        assert conn.execute(text("PRAGMA journal_mode")).scalar() == "wal"
        assert conn.execute(text("PRAGMA busy_timeout")).scalar() == 30000


def _head() -> str:

    folder = Path(connector_db.__file__).parent / "migrations"
    head = ScriptDirectory(str(folder)).get_current_head()
    assert head is not None
    return head


def test_migrations_match_the_models(tmp_path: Path) -> None:
    database = Database(f"sqlite:///{tmp_path / 'connector.sqlite'}")
    upgrade(database)

    with database.engine.connect() as conn:
        context = MigrationContext.configure(conn, opts={"version_table": VERSION_TABLE})
        assert compare_metadata(context, Base.metadata) == []
