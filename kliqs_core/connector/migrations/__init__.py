"""Alembic migrations of the connector database (applied by ``kliqs_core.connector.db.upgrade``)."""
