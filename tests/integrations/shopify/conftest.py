"""Fixtures of the Shopify plug-in tests: the Admin stand-in, the runtime, the webhook app."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from kliqs_core.connector import runtime
from kliqs_core.connector.platforms import unregister_platform
from kliqs_core.connector.testing import TestRuntime, connector_runtime
from kliqs_core.connector.web import create_app, unregister_webhook_route
from tests.integrations.shopify.shopify_testing import (
    NEW_SECRET,
    OLD_SECRET,
    PRIMARY_DOMAIN,
    SHOP,
    AppClient,
    Deliver,
    TimedStandin,
)


@pytest.fixture
def standin() -> Iterator[TimedStandin]:
    """A running Admin GraphQL stand-in for ``kliqs-demo.myshopify.com``."""
    with TimedStandin(shop=SHOP, primary_domain=PRIMARY_DOMAIN) as shop:
        yield shop


@pytest.fixture
def shopify_env(monkeypatch: pytest.MonkeyPatch, standin: TimedStandin) -> None:
    """``SHOPIFY_*`` pointing at the stand-in, with two webhook secrets."""
    monkeypatch.setenv("SHOPIFY_SHOP", SHOP)
    monkeypatch.setenv("SHOPIFY_ACCESS_TOKEN", standin.access_token)
    monkeypatch.setenv("SHOPIFY_WEBHOOK_SECRETS", f"{NEW_SECRET},{OLD_SECRET}")
    monkeypatch.setenv("SHOPIFY_ADMIN_URL", standin.url)
    monkeypatch.setenv("SHOPIFY_API_VERSION", standin.api_version)


@pytest.fixture
def rt(tmp_path: Path, shopify_env: None) -> Iterator[TestRuntime]:
    """The runtime on SQLite with the shopify plug-in loaded; queues into ``rt.enqueued``."""
    with connector_runtime(tmp_path, connector_max_attempts=4) as test_runtime:
        runtime.load_plugins(("shopify",))
        try:
            yield test_runtime
        finally:
            unregister_platform("shopify")
            unregister_webhook_route("shopify")


@pytest.fixture
def web(rt: TestRuntime) -> AppClient:
    """A client of the connector web app, in process."""
    return AppClient(create_app())


@pytest.fixture
def deliver(web: AppClient) -> Deliver:
    """``deliver(payload, topic=..., webhook_id=..., event_id=...)``."""
    return Deliver(web)
