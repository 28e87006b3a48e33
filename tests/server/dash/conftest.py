"""Fixtures of the dashboard tests: servers with a roomy log-in limit, and Chromium."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from dash_support import Users
from kliqs_testing.databases import Database, make_database
from kliqs_testing.servers import ProcessServer

# Every test client comes from 127.0.0.1: a roomy limit keeps the per-IP log-in limit out of
# the way, except where test_dash_ratelimit.py sets a small one on purpose.
# Tests sign in and create links faster than people do: lift the log-in and burst limits
# (their own tests check them with the defaults).
ROOMY = {"KLIQS_DASH_LOGIN_MAX_ATTEMPTS": "1000", "KLIQS_BURST_LIMIT": "1000"}


@pytest.fixture(scope="module")
def live_server(database: Database, module_dir: Path) -> Iterator[ProcessServer]:
    """``kliqs serve`` on the module's backend (SQLite, then PostgreSQL)."""
    server = ProcessServer(database, module_dir, env=dict(ROOMY)).start()
    yield server
    server.stop()


@pytest.fixture(scope="module")
def sqlite_server(module_dir: Path) -> Iterator[ProcessServer]:
    """``kliqs serve`` on SQLite only (browser tests: the backend is not what they test)."""
    server = ProcessServer(make_database("sqlite", module_dir), module_dir, env=dict(ROOMY))
    server.start()
    yield server
    server.stop()


@pytest.fixture
def users(live_server: ProcessServer) -> Iterator[Users]:
    """Dashboard users of ``live_server``."""
    made = Users(live_server.url)
    yield made
    made.close()
