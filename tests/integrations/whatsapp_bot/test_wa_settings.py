"""WHATSAPP_* settings: defaults, validation, and errors that name the missing variables."""

from __future__ import annotations

import httpx
import pytest

from integrations.whatsapp_bot.client import WhatsAppClient
from integrations.whatsapp_bot.settings import WhatsAppSettingsError, load_settings

REQUIRED = {
    "WHATSAPP_PHONE_NUMBER_ID": "106540352242922",
    "WHATSAPP_ACCESS_TOKEN": "EAAG-test",
    "WHATSAPP_APP_SECRET": "app-secret",
    "WHATSAPP_VERIFY_TOKEN": "verify-me",
}
ALL = [
    *REQUIRED,
    "WHATSAPP_API_VERSION",
    "WHATSAPP_GRAPH_URL",
    "WHATSAPP_TEMPLATE_NAME",
    "WHATSAPP_TEMPLATE_LANGUAGE",
    "WHATSAPP_MPS",
]


@pytest.fixture
def env(monkeypatch):
    for name in ALL:
        monkeypatch.delenv(name, raising=False)
    for name, value in REQUIRED.items():
        monkeypatch.setenv(name, value)
    return monkeypatch


def test_defaults(env):
    settings = load_settings(_env_file=None)
    assert settings.phone_number_id == "106540352242922"
    assert settings.access_token.get_secret_value() == "EAAG-test"
    assert settings.api_version == "v23.0"
    assert settings.graph_url == "https://graph.facebook.com"
    assert settings.template_name is None
    assert settings.template_language == "id"
    assert settings.mps == 80


def test_secrets_do_not_show_in_repr(env):
    text = repr(load_settings(_env_file=None))
    assert "EAAG-test" not in text and "app-secret" not in text and "verify-me" not in text


def test_overrides_from_environment(env):
    env.setenv("WHATSAPP_API_VERSION", "21.0")
    env.setenv("WHATSAPP_GRAPH_URL", "http://127.0.0.1:8765/")
    env.setenv("WHATSAPP_TEMPLATE_NAME", "produk_baru")
    env.setenv("WHATSAPP_TEMPLATE_LANGUAGE", "en_US")
    env.setenv("WHATSAPP_MPS", "1000")
    settings = load_settings(_env_file=None)
    assert (settings.api_version, settings.graph_url) == ("v21.0", "http://127.0.0.1:8765")
    assert (settings.template_name, settings.template_language, settings.mps) == (
        "produk_baru",
        "en_US",
        1000,
    )


def test_missing_required_settings_are_named(env):
    env.delenv("WHATSAPP_ACCESS_TOKEN")
    env.setenv("WHATSAPP_VERIFY_TOKEN", "")
    with pytest.raises(WhatsAppSettingsError) as info:
        load_settings(_env_file=None)
    message = str(info.value)
    assert (
        message
        == "missing required WhatsApp setting(s): WHATSAPP_ACCESS_TOKEN, WHATSAPP_VERIFY_TOKEN"
    )


def test_invalid_values_are_named_without_echoing_them(env):
    env.setenv("WHATSAPP_MPS", "0")
    env.setenv("WHATSAPP_API_VERSION", "latest")
    with pytest.raises(WhatsAppSettingsError) as info:
        load_settings(_env_file=None)
    message = str(info.value)
    assert "WHATSAPP_MPS" in message and "WHATSAPP_API_VERSION" in message
    assert message.startswith("invalid WhatsApp setting(s):")


def test_client_from_env_uses_the_settings(env, recorder, tmp_path):
    env.setenv("WHATSAPP_GRAPH_URL", "http://graph.test")
    env.setenv("WHATSAPP_API_VERSION", "v22.0")
    env.chdir(tmp_path)  # no stray .env is read
    http = httpx.Client(transport=httpx.MockTransport(recorder))
    WhatsAppClient.from_env(http=http).send_text("6281234567890", "hai")
    http.close()
    request = recorder.requests[0]
    assert str(request.url) == "http://graph.test/v22.0/106540352242922/messages"
    assert request.headers["Authorization"] == "Bearer EAAG-test"


def test_client_from_env_names_missing_settings(env, tmp_path):
    env.delenv("WHATSAPP_PHONE_NUMBER_ID")
    env.chdir(tmp_path)
    with pytest.raises(WhatsAppSettingsError, match="WHATSAPP_PHONE_NUMBER_ID"):
        WhatsAppClient.from_env()


def test_the_bucket_keeps_headroom_under_the_number_s_rate(env):
    settings = load_settings(_env_file=None)
    assert (settings.headroom, settings.send_rate, settings.bucket_capacity) == (0.05, 76.0, 2.0)

    env.setenv("WHATSAPP_MPS", "1000")
    env.setenv("WHATSAPP_HEADROOM", "0")
    env.setenv("WHATSAPP_BURST", "50")
    settings = load_settings(_env_file=None)
    assert (settings.send_rate, settings.bucket_capacity) == (1000.0, 50.0)
