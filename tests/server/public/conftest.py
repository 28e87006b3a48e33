"""Fixtures of the public-side tests: a live server that flushes clicks quickly."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from kliqs_testing.databases import Database
from kliqs_testing.servers import ApiAccount, ProcessServer

# Fast flushes keep the click tests short; a trusted proxy's headers give each test its own
# visitor address and country.
FAST = {
    "KLIQS_CLICK_FLUSH_INTERVAL": "0.05",
    "KLIQS_COUNTRY_HEADER": "CF-IPCountry",
    "KLIQS_CLIENT_IP_HEADER": "X-Forwarded-For",
}


@pytest.fixture(scope="module")
def live_server(database: Database, module_dir: Path) -> Iterator[ProcessServer]:
    """``kliqs serve`` (one worker) on the module's backend."""
    server = ProcessServer(database, module_dir, env=dict(FAST)).start()
    yield server
    server.stop()


@pytest.fixture(scope="module")
def http(live_server: ProcessServer) -> Iterator[httpx.Client]:
    """A client of the live server that does not follow redirects."""
    with live_server.client() as client:
        yield client


@pytest.fixture
def account(live_server: ProcessServer) -> ApiAccount:
    """A fresh Pro account (room for links and requests)."""
    return live_server.new_account("pro")
