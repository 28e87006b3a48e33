"""Alembic environment: runs on the connection ``upgrade()`` hands over, or on a URL.

Offline SQL generation is not supported; run ``kliqs_core.connector.db.upgrade`` instead.
"""

from __future__ import annotations

from alembic import context
from sqlalchemy import Connection, create_engine

import integrations.whatsapp_bot.models  # noqa: F401  (the bot's tables share this chain)
from kliqs_core.connector.db import VERSION_TABLE
from kliqs_core.connector.models import Base


def _run(connection: Connection) -> None:
    context.configure(
        connection=connection,
        target_metadata=Base.metadata,
        version_table=VERSION_TABLE,
        render_as_batch=True,  # SQLite needs batch mode to alter tables
    )
    with context.begin_transaction():
        context.run_migrations()


def _main() -> None:
    connection = context.config.attributes.get("connection")
    if connection is not None:
        _run(connection)
        return
    url = context.config.get_main_option("sqlalchemy.url")
    if not url:
        raise RuntimeError("no connection given and no sqlalchemy.url configured")
    with create_engine(url).begin() as conn:
        _run(conn)


_main()
