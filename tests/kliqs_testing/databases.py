"""Throwaway databases: a SQLite file, or a fresh PostgreSQL database per use."""

from __future__ import annotations

import os
import uuid
from dataclasses import dataclass
from pathlib import Path

import pytest
from sqlalchemy import create_engine, text
from sqlalchemy.engine import make_url


@dataclass
class Database:
    """A database for one server: its URL and how to drop it."""

    kind: str
    url: str
    admin_url: str | None = None

    def drop(self) -> None:
        """Remove a PostgreSQL database (SQLite files go with their temp folder)."""
        if self.kind != "postgres" or self.admin_url is None:
            return
        name = make_url(self.url).database
        engine = create_engine(_psycopg(self.admin_url), isolation_level="AUTOCOMMIT")
        with engine.connect() as conn:
            conn.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        engine.dispose()


def _psycopg(url: str) -> str:
    return url.replace("postgresql://", "postgresql+psycopg://", 1)


def services_required() -> bool:
    """True in CI (scripts/test): a missing service is a failure, not a skip."""
    return os.environ.get("KLIQS_REQUIRE_SERVICES") == "1"


def pg_admin_url() -> str:
    """The PostgreSQL URL given by scripts/services, or skip (fail in CI)."""
    url = os.environ.get("KLIQS_TEST_PG_URL")
    if not url:
        if services_required():
            pytest.fail("KLIQS_TEST_PG_URL is not set: run the tests with scripts/test")
        pytest.skip("PostgreSQL not configured (KLIQS_TEST_PG_URL); scripts/test sets it")
    return url


def redis_url() -> str:
    """The Redis URL given by scripts/services, or skip (fail in CI)."""
    url = os.environ.get("KLIQS_TEST_REDIS_URL")
    if not url:
        if services_required():
            pytest.fail("KLIQS_TEST_REDIS_URL is not set: run the tests with scripts/test")
        pytest.skip("Redis not configured (KLIQS_TEST_REDIS_URL); scripts/test sets it")
    return url


def sqlite_database(folder: Path) -> Database:
    """A SQLite file in ``folder``."""
    return Database("sqlite", f"sqlite:///{folder / 'kliqs.sqlite'}")


def postgres_database() -> Database:
    """A new, empty PostgreSQL database."""
    admin = pg_admin_url()
    name = f"kliqs_t_{uuid.uuid4().hex[:12]}"
    engine = create_engine(_psycopg(admin), isolation_level="AUTOCOMMIT")
    with engine.connect() as conn:
        conn.execute(text(f'CREATE DATABASE "{name}"'))
    engine.dispose()
    url = make_url(admin).set(database=name).render_as_string(hide_password=False)
    return Database("postgres", url, admin)


def make_database(kind: str, folder: Path) -> Database:
    """A throwaway database of ``kind`` (``sqlite`` or ``postgres``)."""
    return postgres_database() if kind == "postgres" else sqlite_database(folder)
