"""Connector settings from the environment, and the start-up check of a platform's settings."""

from __future__ import annotations

from pathlib import Path

import pytest
from pydantic import SecretStr
from pydantic_settings import BaseSettings, SettingsConfigDict

from kliqs_core.connector import runtime
from kliqs_core.connector.celery_app import build_celery_config
from kliqs_core.connector.settings import ConnectorConfigError, ConnectorSettings, require


class WooSettings(BaseSettings):
    model_config = SettingsConfigDict(env_prefix="WOOCOMMERCE_")

    url: str | None = None
    consumer_key: SecretStr | None = None
    webhook_secret: str = ""


def test_defaults_are_embedded_sqlite_files_in_the_data_dir(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    monkeypatch.setenv("KLIQS_DATA_DIR", str(tmp_path))
    for name in (
        "KLIQS_BROKER_URL",
        "KLIQS_CONNECTOR_DATABASE_URL",
        "KLIQS_CONNECTOR_SLUG_STRATEGY",
    ):
        monkeypatch.delenv(name, raising=False)

    settings = ConnectorSettings()

    assert settings.database_url == f"sqlite:///{tmp_path}/connector.sqlite"
    assert settings.effective_broker_url == f"sqla+sqlite:///{tmp_path}/broker.sqlite"
    assert settings.connector_slug_strategy == "title"


def test_environment_overrides(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("KLIQS_BROKER_URL", "redis://cache:6379/2")
    monkeypatch.setenv("KLIQS_CONNECTOR_DATABASE_URL", "postgresql+psycopg://u:p@db/connector")
    monkeypatch.setenv("KLIQS_CONNECTOR_SLUG_STRATEGY", "none")
    monkeypatch.setenv("KLIQS_CONNECTOR_PLUGINS", "woocommerce, shopify ,my.own.plugin,")
    monkeypatch.setenv("KLIQS_API_KEY", "kliqs_live_abc")

    settings = ConnectorSettings()

    assert settings.effective_broker_url == "redis://cache:6379/2"
    assert settings.database_url == "postgresql+psycopg://u:p@db/connector"
    assert settings.connector_slug_strategy == "none"
    assert settings.plugin_modules == ("woocommerce", "shopify", "my.own.plugin")
    assert settings.api_key is not None and settings.api_key.get_secret_value() == "kliqs_live_abc"


def test_an_unknown_slug_strategy_is_refused(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("KLIQS_CONNECTOR_SLUG_STRATEGY", "random")
    with pytest.raises(ValueError, match="slug_strategy"):
        ConnectorSettings()


def test_require_names_every_missing_setting(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("WOOCOMMERCE_URL", "https://toko.test")
    monkeypatch.setenv("WOOCOMMERCE_CONSUMER_KEY", "")
    woo = WooSettings()

    require(woo, "WOOCOMMERCE_URL")
    with pytest.raises(ConnectorConfigError) as error:
        require(
            woo,
            "WOOCOMMERCE_URL",
            "WOOCOMMERCE_CONSUMER_KEY",
            "webhook_secret",
            platform="woocommerce",
        )
    assert str(error.value) == (
        "woocommerce: missing setting(s): WOOCOMMERCE_CONSUMER_KEY, webhook_secret"
    )


def test_require_works_on_a_plain_mapping() -> None:
    with pytest.raises(ConnectorConfigError, match="SHOPIFY_API_SECRET"):
        require(
            {"SHOPIFY_SHOP": "x.myshopify.com", "SHOPIFY_API_SECRET": " "},
            "SHOPIFY_SHOP",
            "SHOPIFY_API_SECRET",
        )


def test_celery_config_is_crash_safe_and_fits_the_broker(tmp_path: Path) -> None:
    embedded = build_celery_config(ConnectorSettings(data_dir=tmp_path))
    redis = build_celery_config(ConnectorSettings(data_dir=tmp_path, broker_url="redis://r:6379/0"))

    for config in (embedded, redis):
        assert config["task_acks_late"] and config["task_reject_on_worker_lost"]
        assert config["worker_prefetch_multiplier"] == 1 and config["task_ignore_result"]
    assert (
        embedded["broker_url"].startswith("sqla+sqlite:///")
        and not embedded["worker_enable_remote_control"]
    )
    assert "polling_interval" not in embedded["broker_transport_options"]  # crashes create_engine
    assert (
        redis["broker_transport_options"]["visibility_timeout"]
        > ConnectorSettings().connector_retry_cap
    )


def test_plugins_resolve_bare_names_and_call_setup_once(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    (tmp_path / "kliqs_probe_plugin.py").write_text(
        "calls = []\ndef setup():\n    calls.append(1)\n"
    )
    monkeypatch.syspath_prepend(str(tmp_path))
    runtime.reset()
    runtime.set_settings(
        ConnectorSettings(data_dir=tmp_path, connector_plugins="kliqs_probe_plugin")
    )
    try:
        assert runtime.load_plugins() == ["kliqs_probe_plugin"]
        assert runtime.load_plugins() == []
        import kliqs_probe_plugin  # type: ignore[import-not-found]

        assert kliqs_probe_plugin.calls == [1]
    finally:
        runtime.reset()


def test_a_listed_plugin_that_cannot_be_imported_stops_the_start(tmp_path: Path) -> None:
    runtime.reset()
    runtime.set_settings(
        ConnectorSettings(data_dir=tmp_path, connector_plugins="no_such_kliqs_plugin")
    )
    try:
        with pytest.raises(ConnectorConfigError, match="no_such_kliqs_plugin"):
            runtime.start_up()
    finally:
        runtime.reset()


def test_the_default_client_needs_an_api_key(tmp_path: Path) -> None:
    runtime.reset()
    runtime.set_settings(ConnectorSettings(data_dir=tmp_path, api_key=None))
    try:
        with pytest.raises(ConnectorConfigError, match="KLIQS_API_KEY"):
            runtime.check_kliqs_client()
        with pytest.raises(ConnectorConfigError, match="KLIQS_API_KEY"):
            runtime.get_kliqs_client()
        runtime.set_settings(
            ConnectorSettings(
                data_dir=tmp_path, api_key="kliqs_key_1234", api_url="http://127.0.0.1:9"
            )
        )
        client = runtime.get_kliqs_client()
        assert type(client).__name__ == "KliqsClient" and client.base_url == "http://127.0.0.1:9"  # type: ignore[attr-defined]
    finally:
        runtime.reset()
