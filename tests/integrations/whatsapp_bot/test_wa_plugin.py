"""The connector plug-in: settings checked at start, route, notifier and tasks registered."""

from __future__ import annotations

from typing import Any

import pytest
from wa_testkit import APP_SECRET, PHONE_ID, TEMPLATE, TOKEN, VERIFY_TOKEN

from integrations.whatsapp_bot import context
from kliqs_core.connector import ConnectorConfigError, runtime
from kliqs_core.connector.celery_app import celery_app
from kliqs_core.connector.notify import registered_notifiers
from kliqs_core.connector.web import registered_webhook_routes

REQUIRED = {
    "WHATSAPP_PHONE_NUMBER_ID": PHONE_ID,
    "WHATSAPP_ACCESS_TOKEN": TOKEN,
    "WHATSAPP_APP_SECRET": APP_SECRET,
    "WHATSAPP_VERIFY_TOKEN": VERIFY_TOKEN,
    "WHATSAPP_TEMPLATE_NAME": TEMPLATE,
}


@pytest.fixture
def env(monkeypatch: pytest.MonkeyPatch) -> pytest.MonkeyPatch:
    for name in [*REQUIRED, "WHATSAPP_MPS", "WHATSAPP_GRAPH_URL", "WHATSAPP_REDIS_URL"]:
        monkeypatch.delenv(name, raising=False)
    monkeypatch.chdir("/")  # no stray .env file
    return monkeypatch


@pytest.mark.parametrize("name", ["whatsapp", "whatsapp_bot", "integrations.whatsapp_bot"])
def test_listing_the_plugin_registers_route_notifier_and_tasks(
    rt: Any, env: pytest.MonkeyPatch, name: str
) -> None:
    for key, value in REQUIRED.items():
        env.setenv(key, value)

    assert runtime.load_plugins((name,)) == [name]

    assert "whatsapp" in registered_webhook_routes()
    assert [n for n, _ in registered_notifiers()] == ["whatsapp"]
    assert {"kliqs.whatsapp.send_delivery", "kliqs.whatsapp.handle_inbound",
            "kliqs.whatsapp.apply_status"} <= set(celery_app.tasks)
    assert context.get_settings().phone_number_id == PHONE_ID


def test_missing_required_settings_stop_the_start_naming_them(
    rt: Any, env: pytest.MonkeyPatch
) -> None:
    env.setenv("WHATSAPP_PHONE_NUMBER_ID", PHONE_ID)

    with pytest.raises(ConnectorConfigError) as info:
        runtime.load_plugins(("whatsapp",))

    message = str(info.value)
    assert message.startswith("whatsapp: missing required WhatsApp setting(s):")
    for name in ("WHATSAPP_ACCESS_TOKEN", "WHATSAPP_APP_SECRET", "WHATSAPP_VERIFY_TOKEN"):
        assert name in message
    assert "WHATSAPP_PHONE_NUMBER_ID" not in message
    assert "whatsapp" not in registered_webhook_routes()


def test_the_template_is_required_for_broadcasts_outside_the_window(
    rt: Any, env: pytest.MonkeyPatch
) -> None:
    for key, value in REQUIRED.items():
        env.setenv(key, value)
    env.delenv("WHATSAPP_TEMPLATE_NAME")

    missing = "missing setting\\(s\\): WHATSAPP_TEMPLATE_NAME"
    with pytest.raises(ConnectorConfigError, match=missing):
        runtime.load_plugins(("whatsapp",))


def test_bucket_is_shared_in_redis_when_the_broker_is_redis(env: pytest.MonkeyPatch) -> None:
    from integrations.whatsapp_bot.context import bucket_redis_url
    from wa_testkit import wa_settings

    assert bucket_redis_url(wa_settings(), "redis://h:6379/2") == "redis://h:6379/2"
    assert bucket_redis_url(wa_settings(), "sqla+sqlite:///b.sqlite") is None
    assert bucket_redis_url(wa_settings(), None) is None
    own = wa_settings(redis_url="redis://other:6379/0")
    assert bucket_redis_url(own, "redis://h:6379/2") == "redis://other:6379/0"


def test_bucket_capacity_defaults_to_half_the_headroom() -> None:
    from wa_testkit import wa_settings

    # refill 76/s + burst 2: a 1 s window never holds more than the number's 80
    assert wa_settings(mps=80).bucket_capacity == 2
    assert wa_settings(mps=1000).bucket_capacity == 25
    assert wa_settings(mps=5).bucket_capacity == 1
    assert wa_settings(mps=80, burst=20).bucket_capacity == 20
