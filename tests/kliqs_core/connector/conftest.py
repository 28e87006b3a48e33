"""Fixtures of the connector runtime tests: a fresh runtime on SQLite with fakes."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from kliqs_core.connector.notify import registered_notifiers, unregister_notifier
from kliqs_core.connector.testing import FakePlatform, TestRuntime, connector_runtime
from kliqs_core.connector.web import registered_webhook_routes, unregister_webhook_route


@pytest.fixture
def platform() -> FakePlatform:
    """A fake shop platform named ``fakeshop``."""
    return FakePlatform()


@pytest.fixture
def rt(tmp_path: Path, platform: FakePlatform) -> Iterator[TestRuntime]:
    """The runtime on a fresh SQLite database, queueing into ``rt.enqueued``."""
    with connector_runtime(tmp_path, platform=platform, connector_max_attempts=4) as runtime:
        yield runtime


@pytest.fixture(autouse=True)
def _clean_registries() -> Iterator[None]:
    yield
    for name, _ in registered_notifiers():
        unregister_notifier(name)
    for platform in registered_webhook_routes():
        unregister_webhook_route(platform)
