"""Fixtures of the Saleor plug-in tests: the shop stand-in (API + JWKS), runtime, webhook app."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from kliqs_core.connector import runtime
from kliqs_core.connector.platforms import unregister_platform
from kliqs_core.connector.testing import TestRuntime, connector_runtime
from kliqs_core.connector.web import create_app, unregister_webhook_route
from tests.integrations.saleor.saleor_testing import STOREFRONT, Deliver
from tests.integrations.shopify.shopify_testing import AppClient
from tests.standins.saleor_standin import SaleorStandin


@pytest.fixture
def standin() -> Iterator[SaleorStandin]:
    """A running Saleor stand-in: GraphQL at ``/graphql/``, keys at ``/.well-known/jwks.json``."""
    with SaleorStandin() as shop:
        yield shop


@pytest.fixture
def saleor_env(monkeypatch: pytest.MonkeyPatch, standin: SaleorStandin) -> None:
    """``SALEOR_*`` pointing at the stand-in; no legacy secret."""
    monkeypatch.setenv("SALEOR_API_URL", standin.api_url)
    monkeypatch.setenv("SALEOR_APP_TOKEN", standin.app_token)
    monkeypatch.setenv("SALEOR_JWKS_URL", standin.jwks_url)
    monkeypatch.setenv("SALEOR_STOREFRONT_URL_TEMPLATE", STOREFRONT)
    monkeypatch.delenv("SALEOR_WEBHOOK_SECRET", raising=False)
    monkeypatch.setenv("SALEOR_JWKS_REFETCH_COOLDOWN", "0")


@pytest.fixture
def shop(standin: SaleorStandin) -> str:
    """The shop's key in the connector: the API's host."""
    return standin.url.removeprefix("http://")


@pytest.fixture
def rt(tmp_path: Path, saleor_env: None) -> Iterator[TestRuntime]:
    """The runtime on SQLite with the saleor plug-in loaded; queues into ``rt.enqueued``."""
    with connector_runtime(tmp_path, connector_max_attempts=4) as test_runtime:
        runtime.load_plugins(("saleor",))
        try:
            yield test_runtime
        finally:
            unregister_platform("saleor")
            unregister_webhook_route("saleor")


@pytest.fixture
def web(rt: TestRuntime) -> AppClient:
    """A client of the connector web app, in process."""
    return AppClient(create_app())


@pytest.fixture
def deliver(web: AppClient, standin: SaleorStandin) -> Deliver:
    """``deliver(payload, signer=..., event=..., legacy_secret=...)``."""
    return Deliver(web, standin)
