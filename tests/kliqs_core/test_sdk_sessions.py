"""CachedEnvSession: requests' environment rules (proxies, no_proxy, CA bundle), read once."""

from __future__ import annotations

from collections.abc import Callable

import pytest
import requests

from kliqs_core import KliqsClient
from kliqs_core.sessions import CachedEnvSession


@pytest.fixture
def env(monkeypatch: pytest.MonkeyPatch) -> pytest.MonkeyPatch:
    for name in ("HTTP_PROXY", "HTTPS_PROXY", "ALL_PROXY", "NO_PROXY", "REQUESTS_CA_BUNDLE",
                 "CURL_CA_BUNDLE"):
        monkeypatch.delenv(name, raising=False)
        monkeypatch.delenv(name.lower(), raising=False)
    return monkeypatch


def settings(session: requests.Session, url: str, **given: object) -> dict[str, object]:
    return session.merge_environment_settings(
        url, given.get("proxies", {}), None, given.get("verify"), None  # type: ignore[arg-type]
    )


@pytest.mark.parametrize("url", [
    "https://api.kliqs.me/api/v1/links",
    "http://shop.example.co.id/wp-json/wc/v3/products/1",
    "http://localhost:8000/healthz",
])
def test_the_same_settings_as_a_plain_session(env: pytest.MonkeyPatch, url: str) -> None:
    env.setenv("HTTPS_PROXY", "http://proxy.internal:3128")
    env.setenv("HTTP_PROXY", "http://proxy.internal:3129")
    env.setenv("NO_PROXY", "localhost,.example.co.id")
    env.setenv("REQUESTS_CA_BUNDLE", "/etc/ssl/certs/ca-certificates.crt")
    assert settings(CachedEnvSession(), url) == settings(requests.Session(), url)


def test_explicit_arguments_win_over_the_environment(env: pytest.MonkeyPatch) -> None:
    env.setenv("HTTPS_PROXY", "http://proxy.internal:3128")
    env.setenv("REQUESTS_CA_BUNDLE", "/etc/ssl/certs/ca-certificates.crt")
    session = CachedEnvSession()
    url = "https://api.kliqs.me/api/v1/links"
    merged = settings(session, url, proxies={"https": "http://mine:1"}, verify=False)
    assert merged["proxies"] == {"https": "http://mine:1"}
    assert merged["verify"] is False
    assert settings(session, url)["proxies"] == {"https": "http://proxy.internal:3128"}
    assert settings(session, url)["verify"] == "/etc/ssl/certs/ca-certificates.crt"


def test_no_proxy_given_per_call_is_honoured(env: pytest.MonkeyPatch) -> None:
    env.setenv("HTTPS_PROXY", "http://proxy.internal:3128")
    session = CachedEnvSession()
    url = "https://api.kliqs.me/api/v1/links"
    assert settings(session, url, proxies={"no_proxy": "api.kliqs.me"})["proxies"] == {
        "no_proxy": "api.kliqs.me"
    }
    assert settings(session, url)["proxies"] == {"https": "http://proxy.internal:3128"}


def test_trust_env_off_ignores_the_environment(env: pytest.MonkeyPatch) -> None:
    env.setenv("HTTPS_PROXY", "http://proxy.internal:3128")
    session = CachedEnvSession()
    session.trust_env = False
    assert settings(session, "https://api.kliqs.me/")["proxies"] == {}


def test_the_environment_is_read_once_per_origin(env: pytest.MonkeyPatch) -> None:
    # The point of the class: a later change of the environment is not seen by this session.
    env.setenv("HTTPS_PROXY", "http://proxy.internal:3128")
    session = CachedEnvSession()
    assert settings(session, "https://api.kliqs.me/a")["proxies"] == {
        "https": "http://proxy.internal:3128"
    }
    env.setenv("HTTPS_PROXY", "http://other:1")
    assert settings(session, "https://api.kliqs.me/b")["proxies"] == {
        "https": "http://proxy.internal:3128"
    }
    assert settings(session, "https://kliqs.me/")["proxies"] == {"https": "http://other:1"}
    assert settings(CachedEnvSession(), "https://api.kliqs.me/")["proxies"] == {
        "https": "http://other:1"
    }


def test_the_sdk_client_sends_through_it_by_default(
    env: pytest.MonkeyPatch, client: KliqsClient, load: Callable[[str], None]
) -> None:
    load("me")
    assert isinstance(client._requestor.http.session, CachedEnvSession)
    assert client.me().plan
