"""The plug-in's setup(): settings checked at start, platform and route registered."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from integrations.woocommerce.platform import WooCommercePlatform
from kliqs_core.connector import ConnectorConfigError, get_platform, runtime
from kliqs_core.connector.platforms import unregister_platform
from kliqs_core.connector.web import registered_webhook_routes, unregister_webhook_route
from tests.integrations.woocommerce.woo_stack import ConnectorStack

REQUIRED = [
    "WOOCOMMERCE_URL",
    "WOOCOMMERCE_CONSUMER_KEY",
    "WOOCOMMERCE_CONSUMER_SECRET",
    "WOOCOMMERCE_WEBHOOK_SECRET",
]


@pytest.fixture(autouse=True)
def _forget_registrations() -> Any:
    yield
    unregister_platform("woocommerce")
    unregister_webhook_route("woocommerce")
    runtime.reset()


def test_setup_registers_the_platform_and_the_webhook_route(woo_env: dict[str, str]) -> None:
    runtime.reset()
    assert runtime.load_plugins(("woocommerce",)) == ["woocommerce"]
    assert isinstance(get_platform("woocommerce"), WooCommercePlatform)
    assert "woocommerce" in registered_webhook_routes()


def test_healthz_lists_the_plugin(app: Any) -> None:
    data = app.request("GET", "/healthz").json()["data"]
    assert "woocommerce" in data["platforms"] and "woocommerce" in data["webhooks"]


@pytest.mark.parametrize("missing", REQUIRED)
def test_a_missing_setting_stops_the_start_naming_it(
    woo_env: dict[str, str], monkeypatch: pytest.MonkeyPatch, missing: str
) -> None:
    monkeypatch.delenv(missing)
    runtime.reset()
    with pytest.raises(ConnectorConfigError) as caught:
        runtime.load_plugins(("woocommerce",))
    assert missing in str(caught.value)
    assert [name for name in REQUIRED if name != missing and name in str(caught.value)] == []
    assert "woocommerce" not in registered_webhook_routes()


def test_a_blank_setting_counts_as_missing(
    woo_env: dict[str, str], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("WOOCOMMERCE_WEBHOOK_SECRET", "  ")
    with pytest.raises(ConnectorConfigError, match="WOOCOMMERCE_WEBHOOK_SECRET"):
        runtime.load_plugins(("woocommerce",))


def test_a_shop_url_that_is_not_http_is_refused(
    woo_env: dict[str, str], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("WOOCOMMERCE_URL", "toko-contoh.example")
    with pytest.raises(ConnectorConfigError, match="WOOCOMMERCE_URL must be an http"):
        runtime.load_plugins(("woocommerce",))


@pytest.mark.slow
def test_connector_process_refuses_to_start_without_the_webhook_secret(tmp_path: Path) -> None:
    stack = ConnectorStack(tmp_path, "http://127.0.0.1:9", "kliqs_sk_test", "http://127.0.0.1:9",
                           "unused", extra_env={"WOOCOMMERCE_WEBHOOK_SECRET": ""})  # fmt: skip
    with pytest.raises(RuntimeError) as caught:
        stack.start_connector(timeout=30)
    try:
        assert "missing setting(s): WOOCOMMERCE_WEBHOOK_SECRET" in str(caught.value)
    finally:
        stack.stop()

