"""What is retried (connection failures, 5xx, RATE_LIMITED), what never is, and the waits.

5xx pages come from handwritten fixtures (a reverse proxy's 502/503: the Kliqs server never
answers those itself); every other answer is a recording of the real server.
"""

from __future__ import annotations

import uuid
from collections.abc import Callable

import pytest
import requests
import responses
from sdk_scenarios import REPLAY_CALLS
from server.api.errors import ErrorCode

from kliqs_core import (
    InternalError,
    KliqsClient,
    KliqsConnectionError,
    KliqsError,
    RateLimitedError,
    RetryPolicy,
)

Load = Callable[[str], None]  # the conftest's `load` fixture
LINKS = "http://kliqs.test/api/v1/links"


def _keys(api: responses.RequestsMock) -> list[str | None]:
    return [call.request.headers.get("Idempotency-Key") for call in api.calls]


@pytest.mark.parametrize("fixture", ["bad_gateway", "service_unavailable"])
def test_a_5xx_is_retried_with_the_same_idempotency_key(
    fixture: str,
    client: KliqsClient,
    api: responses.RequestsMock,
    load: Load,
    sleeps: list[float],
) -> None:
    load(fixture)
    load("create_link")

    link = client.create_link("https://marketku.id/products/1")

    assert link.short_code == "vps-murah"
    keys = _keys(api)
    assert len(keys) == 2 and keys[0] == keys[1]
    assert keys[0] is not None and uuid.UUID(keys[0]).version == 4
    assert sleeps == [0.5]


@pytest.mark.parametrize(
    "failure",
    [
        requests.ConnectionError(ConnectionResetError(104, "Connection reset by peer")),
        requests.ReadTimeout("read timed out"),
        requests.ConnectTimeout("connect timed out"),
        requests.exceptions.ChunkedEncodingError("connection broken mid-body"),
    ],
    ids=["connection-reset", "read-timeout", "connect-timeout", "broken-body"],
)
def test_a_connection_failure_is_retried_with_the_same_idempotency_key(
    failure: Exception,
    client: KliqsClient,
    api: responses.RequestsMock,
    load: Load,
    sleeps: list[float],
) -> None:
    api.add(responses.POST, LINKS, body=failure)
    load("create_link")

    link = client.create_link("https://marketku.id/products/1")

    assert link.short_code == "vps-murah"
    keys = _keys(api)
    assert len(keys) == 2 and keys[0] == keys[1] is not None
    assert sleeps == [0.5]


def test_the_callers_idempotency_key_is_sent_on_every_attempt(
    client: KliqsClient, api: responses.RequestsMock, load: Load
) -> None:
    load("bad_gateway")
    load("create_link")

    client.create_link("https://marketku.id/products/1", idempotency_key="woo:shop1:42")

    assert _keys(api) == ["woo:shop1:42", "woo:shop1:42"]


def test_each_create_call_gets_its_own_idempotency_key(
    client: KliqsClient, api: responses.RequestsMock, load: Load
) -> None:
    load("create_link")
    load("create_link")

    client.create_link("https://marketku.id/products/1")
    client.create_link("https://marketku.id/products/1")

    first, second = _keys(api)
    assert first != second


def test_successive_5xx_back_off_exponentially_with_one_idempotency_key(
    client: KliqsClient, api: responses.RequestsMock, load: Load, sleeps: list[float]
) -> None:
    load("bad_gateway")
    load("service_unavailable")
    load("create_link")

    link = client.create_link("https://marketku.id/products/1")

    assert link.short_code == "vps-murah"
    assert [call.response.status_code for call in api.calls] == [502, 503, 201]
    assert len(set(_keys(api))) == 1
    assert sleeps == [0.5, 1.0]  # base 0.5 s doubled, jitter pinned to the full step


def test_connection_failures_give_up_after_max_retries_and_chain_the_cause(
    client: KliqsClient, api: responses.RequestsMock, sleeps: list[float]
) -> None:
    cause = requests.ConnectionError("Connection refused")
    for _ in range(3):
        api.add(responses.GET, "http://kliqs.test/api/v1/me", body=cause)

    with pytest.raises(KliqsConnectionError) as caught:
        client.me()

    assert caught.value.__cause__ is cause
    assert len(api.calls) == 3  # the first try and max_retries=2 retries
    assert sleeps == [0.5, 1.0]


def test_a_persistent_server_error_is_raised_after_the_retries(
    client: KliqsClient, api: responses.RequestsMock, load: Load, sleeps: list[float]
) -> None:
    load("errors/INTERNAL_ERROR")  # one canned 500, answered to every attempt

    with pytest.raises(InternalError):
        client.create_link("https://marketku.id/products/1")

    assert len(api.calls) == 3
    assert len(set(_keys(api))) == 1
    assert sleeps == [0.5, 1.0]


# Every 4xx the server answers (400, 401, 403, 404, 405, 409, 413, 422 and the quota 429),
# except RATE_LIMITED, whose Retry-After is short and worth waiting for.
NEVER_RETRIED = sorted(
    code.value for code in ErrorCode if code.status < 500 and code is not ErrorCode.RATE_LIMITED
)


def test_the_never_retried_codes_cover_every_status_the_brief_names() -> None:
    statuses = {ErrorCode(code).status for code in NEVER_RETRIED}

    assert {400, 401, 403, 409, 429} <= statuses
    assert "API_LIMIT_REACHED" in NEVER_RETRIED


@pytest.mark.parametrize("code", NEVER_RETRIED)
def test_client_errors_are_never_retried(
    code: str,
    client: KliqsClient,
    api: responses.RequestsMock,
    load: Load,
    sleeps: list[float],
) -> None:
    load(f"errors/{code}")  # would answer a retry too, so a retry would show in api.calls

    with pytest.raises(KliqsError) as caught:
        REPLAY_CALLS[code](client)

    assert caught.value.code == code
    assert len(api.calls) == 1
    assert sleeps == []


def test_rate_limited_is_retried_after_its_retry_after(
    client: KliqsClient, api: responses.RequestsMock, load: Load, sleeps: list[float]
) -> None:
    load("rate_limited_then_created")

    link = client.create_link("https://marketku.id/products/1")

    assert link.short_code == "gen0001"  # the server's generated code, normalised
    assert sleeps == [1.0]  # Retry-After: 1, not the backoff step
    keys = _keys(api)
    assert len(keys) == 2 and keys[0] == keys[1]


def test_rate_limited_with_a_long_retry_after_is_raised_not_waited_out(
    client: KliqsClient, api: responses.RequestsMock, load: Load, sleeps: list[float]
) -> None:
    load("rate_limited_long")  # Retry-After: 120, over max_retry_after (60)

    with pytest.raises(RateLimitedError) as caught:
        client.create_link("https://marketku.id/products/1")

    assert caught.value.retry_after == 120.0
    assert len(api.calls) == 1
    assert sleeps == []


def test_a_bad_certificate_is_not_retried(client: KliqsClient, api: responses.RequestsMock) -> None:
    bad_cert = requests.exceptions.SSLError("certificate verify failed")
    api.add(responses.GET, "http://kliqs.test/api/v1/me", body=bad_cert)

    with pytest.raises(KliqsConnectionError):
        client.me()

    assert len(api.calls) == 1


def test_backoff_doubles_from_the_base_up_to_the_cap(api: responses.RequestsMock) -> None:
    sleeps: list[float] = []

    class Pinned(RetryPolicy):
        def jitter(self, delay: float) -> float:
            return delay

    kliqs = KliqsClient(
        "kliqs_sk_live_x",
        base_url="http://kliqs.test",
        max_retries=6,
        retry_policy=Pinned(backoff_base=0.5, backoff_cap=8.0, sleep=sleeps.append),
    )
    for _ in range(7):
        api.add(responses.GET, "http://kliqs.test/api/v1/me", body=requests.ConnectionError("down"))

    with pytest.raises(KliqsConnectionError):
        kliqs.me()

    assert sleeps == [0.5, 1.0, 2.0, 4.0, 8.0, 8.0]


def test_the_default_jitter_is_full_jitter_over_the_capped_step(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    bounds: list[tuple[float, float]] = []

    def fake_uniform(low: float, high: float) -> float:
        bounds.append((low, high))
        return high / 2

    monkeypatch.setattr("kliqs_core._retry.random.uniform", fake_uniform)
    policy = RetryPolicy(backoff_base=1.0, backoff_cap=4.0)

    waits = [policy.backoff(attempt) for attempt in range(4)]

    assert bounds == [(0.0, 1.0), (0.0, 2.0), (0.0, 4.0), (0.0, 4.0)]
    assert waits == [0.5, 1.0, 2.0, 2.0]


def test_max_retries_zero_sends_exactly_once(
    api: responses.RequestsMock, load: Load
) -> None:
    sleeps: list[float] = []
    kliqs = KliqsClient(
        "kliqs_sk_live_x",
        base_url="http://kliqs.test",
        max_retries=0,
        retry_policy=RetryPolicy(sleep=sleeps.append),
    )
    load("errors/INTERNAL_ERROR")

    with pytest.raises(InternalError):
        kliqs.create_link("https://marketku.id/products/1")

    assert len(api.calls) == 1
    assert sleeps == []


def test_api_limit_reached_is_never_retried_however_long_the_client_would_wait(
    api: responses.RequestsMock, load: Load
) -> None:
    sleeps: list[float] = []
    patient = RetryPolicy(max_retry_after=float("inf"), sleep=sleeps.append)
    kliqs = KliqsClient("kliqs_sk_live_x", base_url="http://kliqs.test", retry_policy=patient)
    load("errors/API_LIMIT_REACHED")

    with pytest.raises(KliqsError) as caught:
        kliqs.create_link("https://marketku.id/products/1")

    assert caught.value.code == "API_LIMIT_REACHED"
    assert len(api.calls) == 1
    assert sleeps == []
