"""Alembic environment for the server's database (driven by ``server.db.migrate``)."""

from __future__ import annotations

from alembic import context
from sqlalchemy import Connection

import server.dash.models  # noqa: F401  (puts the dashboard's tables on Base.metadata)
from server.db.models import Base

target_metadata = Base.metadata


def _run(connection: Connection) -> None:
    context.configure(
        connection=connection,
        target_metadata=target_metadata,
        render_as_batch=connection.dialect.name == "sqlite",
        compare_type=True,
    )
    with context.begin_transaction():
        context.run_migrations()


connection = context.config.attributes.get("connection")
if connection is None:  # pragma: no cover - always called through server.db.migrate
    raise RuntimeError("run migrations with `kliqs db upgrade`")
_run(connection)
