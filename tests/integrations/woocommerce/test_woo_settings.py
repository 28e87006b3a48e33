"""WOOCOMMERCE_* settings: required once enabled, clear errors, shop id from the URL."""

from __future__ import annotations

import pytest

from integrations.woocommerce.api import WooCommerceClient
from integrations.woocommerce.settings import (
    REQUIRED_VARIABLES,
    WooCommerceSettings,
    WooCommerceSettingsError,
    load_settings,
    shop_id_from_url,
)

COMPLETE = {
    "WOOCOMMERCE_URL": "https://Toko-Contoh.example/",
    "WOOCOMMERCE_CONSUMER_KEY": "ck_0123456789abcdef",
    "WOOCOMMERCE_CONSUMER_SECRET": "cs_0123456789abcdef",
    "WOOCOMMERCE_WEBHOOK_SECRET": "whsec-toko",
}


@pytest.fixture(autouse=True)
def clean_env(monkeypatch: pytest.MonkeyPatch) -> None:
    for name in (*REQUIRED_VARIABLES, "WOOCOMMERCE_ENABLED", "WOOCOMMERCE_TIMEOUT",
                 "WOOCOMMERCE_VERIFY_SSL"):  # fmt: skip
        monkeypatch.delenv(name, raising=False)


def _set(monkeypatch: pytest.MonkeyPatch, values: dict[str, str]) -> None:
    for name, value in values.items():
        monkeypatch.setenv(name, value)


def test_complete_environment_loads(monkeypatch: pytest.MonkeyPatch) -> None:
    _set(monkeypatch, {**COMPLETE, "WOOCOMMERCE_TIMEOUT": "4.5"})
    settings = load_settings()
    assert settings is not None
    assert settings.url == "https://Toko-Contoh.example"
    assert settings.consumer_key.get_secret_value() == "ck_0123456789abcdef"
    assert settings.webhook_secret.get_secret_value() == "whsec-toko"
    assert settings.timeout == 4.5 and settings.verify_ssl is True
    assert settings.shop_id == "toko-contoh.example"


def test_secrets_do_not_appear_in_repr(monkeypatch: pytest.MonkeyPatch) -> None:
    _set(monkeypatch, COMPLETE)
    shown = repr(WooCommerceSettings.from_env())
    assert "cs_0123456789abcdef" not in shown and "whsec-toko" not in shown


def test_nothing_set_means_disabled() -> None:
    assert load_settings() is None


def test_explicitly_disabled_ignores_partial_settings(monkeypatch: pytest.MonkeyPatch) -> None:
    _set(monkeypatch, {"WOOCOMMERCE_ENABLED": "false", "WOOCOMMERCE_URL": "https://x.example"})
    assert load_settings() is None


@pytest.mark.parametrize("missing", REQUIRED_VARIABLES)
def test_partial_settings_name_the_missing_variable(monkeypatch: pytest.MonkeyPatch, missing: str) -> None:
    _set(monkeypatch, {k: v for k, v in COMPLETE.items() if k != missing})
    with pytest.raises(WooCommerceSettingsError) as info:
        load_settings()
    assert info.value.missing == (missing,)
    assert missing in str(info.value)


def test_enabled_without_anything_lists_all_four(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("WOOCOMMERCE_ENABLED", "1")
    with pytest.raises(WooCommerceSettingsError) as info:
        load_settings()
    assert info.value.missing == REQUIRED_VARIABLES
    assert str(info.value).startswith("WooCommerce is enabled but its settings are incomplete")


def test_enabled_argument_overrides_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    with pytest.raises(WooCommerceSettingsError):
        load_settings(enabled=True)
    _set(monkeypatch, COMPLETE)
    assert load_settings(enabled=False) is None


@pytest.mark.parametrize(
    ("name", "value", "message"),
    [
        ("WOOCOMMERCE_URL", "toko-contoh.example", "must be an http(s) URL"),
        ("WOOCOMMERCE_URL", "ftp://toko-contoh.example", "must be an http(s) URL"),
        ("WOOCOMMERCE_WEBHOOK_SECRET", "   ", "must not be empty"),
        ("WOOCOMMERCE_CONSUMER_KEY", "", "must not be empty"),
    ],
)
def test_invalid_values_are_named(
    monkeypatch: pytest.MonkeyPatch, name: str, value: str, message: str
) -> None:
    _set(monkeypatch, {**COMPLETE, name: value})
    with pytest.raises(WooCommerceSettingsError) as info:
        WooCommerceSettings.from_env()
    assert f"{name} {message}" in str(info.value)
    assert info.value.missing == ()


@pytest.mark.parametrize(
    ("url", "shop_id"),
    [
        ("https://Toko-Contoh.example/", "toko-contoh.example"),
        ("https://toko-contoh.example:443/shop", "toko-contoh.example"),
        ("http://127.0.0.1:8089", "127.0.0.1:8089"),
        ("http://localhost:80", "localhost"),
    ],
)
def test_shop_id_is_the_host(url: str, shop_id: str) -> None:
    assert shop_id_from_url(url) == shop_id


def test_client_is_built_from_settings(monkeypatch: pytest.MonkeyPatch) -> None:
    _set(monkeypatch, {**COMPLETE, "WOOCOMMERCE_TIMEOUT": "3", "WOOCOMMERCE_VERIFY_SSL": "false"})
    client = WooCommerceClient.from_settings(WooCommerceSettings.from_env())
    api = client._api
    assert (api.url, api.consumer_key, api.consumer_secret) == (
        "https://Toko-Contoh.example", "ck_0123456789abcdef", "cs_0123456789abcdef",
    )
    assert (api.timeout, api.verify_ssl, api.version, api.wp_api) == (3.0, False, "wc/v3", True)
