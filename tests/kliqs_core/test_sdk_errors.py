"""Error responses become the right exception, with status, code, message and request id.

``errors/<CODE>.yaml`` are the real server's answers (all but the handwritten INTERNAL_ERROR);
``REPLAY_CALLS`` is the SDK call each answers.
"""

from __future__ import annotations

import pickle
from collections.abc import Callable
from datetime import UTC, datetime, timedelta

import pytest
import requests
from sdk_scenarios import REPLAY_CALLS

import kliqs_core
from kliqs_core import (
    ApiLimitReachedError,
    AuthenticationError,
    ConflictError,
    InvalidRequestError,
    KliqsClient,
    KliqsConnectionError,
    KliqsError,
    QuotaError,
    RateLimitedError,
    RateLimitError,
    ServerError,
    UnexpectedResponseError,
)
from kliqs_core.errors import error_class_for_code, error_from_response

Load = Callable[[str], None]  # the conftest's `load` fixture

# code -> (leaf class name, category it must be caught by)
EXPECTED = {
    "UNAUTHORIZED": ("UnauthorizedError", AuthenticationError),
    "INVALID_API_KEY": ("InvalidApiKeyError", AuthenticationError),
    "REVOKED_API_KEY": ("RevokedApiKeyError", AuthenticationError),
    "API_LIMIT_REACHED": ("ApiLimitReachedError", QuotaError),
    "RATE_LIMITED": ("RateLimitedError", RateLimitError),
    "PAYLOAD_TOO_LARGE": ("PayloadTooLargeError", InvalidRequestError),
    "VALIDATION_ERROR": ("ValidationError", InvalidRequestError),
    "INVALID_URL": ("InvalidUrlError", InvalidRequestError),
    "INVALID_SLUG": ("InvalidSlugError", InvalidRequestError),
    "RESERVED_SLUG": ("ReservedSlugError", InvalidRequestError),
    "INVALID_EXPIRES_AT": ("InvalidExpiresAtError", InvalidRequestError),
    "SHORTLINK_LIMIT_REACHED": ("ShortlinkLimitReachedError", QuotaError),
    "SLUG_ALREADY_EXISTS": ("SlugAlreadyExistsError", ConflictError),
    "IDEMPOTENCY_KEY_REUSED": ("IdempotencyKeyReusedError", InvalidRequestError),
    "NOT_FOUND": ("NotFoundError", InvalidRequestError),
    "METHOD_NOT_ALLOWED": ("MethodNotAllowedError", InvalidRequestError),
    "INTERNAL_ERROR": ("InternalError", ServerError),
}


@pytest.fixture
def no_retry_client() -> KliqsClient:
    return KliqsClient("kliqs_sk_live_x", base_url="http://kliqs.test", max_retries=0)


@pytest.mark.parametrize("code", sorted(EXPECTED))
def test_each_error_code_raises_its_own_class(
    code: str, no_retry_client: KliqsClient, load: Load
) -> None:
    load(f"errors/{code}")
    class_name, category = EXPECTED[code]

    with pytest.raises(KliqsError) as caught:
        REPLAY_CALLS[code](no_retry_client)

    error = caught.value
    assert type(error) is getattr(kliqs_core, class_name)
    assert isinstance(error, category)
    assert error.code == code
    assert error.status == type(error).http_status
    assert error.request_id == "req_0001"  # the recording's first request id
    assert error.message  # the server's (Indonesian) message is kept
    assert str(error).startswith(f"{code} {error.status}: {error.message}")


@pytest.mark.parametrize(
    ("status", "category"),
    [
        (400, InvalidRequestError),
        (401, AuthenticationError),
        (403, QuotaError),
        (409, ConflictError),
        (422, InvalidRequestError),
        (429, RateLimitError),
        (503, ServerError),
    ],
)
def test_unknown_code_falls_back_to_the_category_of_its_status(
    status: int,
    category: type[KliqsError],
    no_retry_client: KliqsClient,
    load: Load,
) -> None:
    load(f"unknown/{status}")

    with pytest.raises(KliqsError) as caught:
        no_retry_client.create_link("https://marketku.id/products/1")

    assert type(caught.value) is category
    assert caught.value.code == "SOMETHING_NEW"
    assert caught.value.message == "Kode baru dari server."


def test_a_response_outside_the_envelope_keeps_status_and_an_excerpt(
    no_retry_client: KliqsClient, load: Load
) -> None:
    load("bad_gateway")

    with pytest.raises(ServerError) as caught:
        no_retry_client.create_link("https://marketku.id/products/1")

    assert caught.value.status == 502
    assert caught.value.code is None
    assert caught.value.message.startswith("HTTP 502 Bad Gateway: <html>")
    assert caught.value.request_id == "req_0001"  # from the X-Request-Id header


def test_a_200_that_is_not_an_envelope_is_an_unexpected_response(
    no_retry_client: KliqsClient, load: Load
) -> None:
    load("not_envelope_200")

    with pytest.raises(UnexpectedResponseError) as caught:
        no_retry_client.me()

    assert caught.value.status == 200


def test_a_payload_missing_fields_is_an_unexpected_response_chained_to_the_cause(
    no_retry_client: KliqsClient, load: Load
) -> None:
    load("wrong_shape_200")

    with pytest.raises(UnexpectedResponseError) as caught:
        no_retry_client.me()

    assert isinstance(caught.value.__cause__, KeyError)


def test_api_limit_reached_carries_retry_after_and_the_reset_from_the_header(
    no_retry_client: KliqsClient, load: Load
) -> None:
    load("errors/API_LIMIT_REACHED")

    with pytest.raises(ApiLimitReachedError) as caught:
        no_retry_client.create_link("https://marketku.id/products/1")

    # Recorded with the server's clock at 2026-11-24 03:15:00 UTC: the reset is 6d 20h 45m on.
    assert caught.value.retry_after == 593100.0
    assert caught.value.resets_at == datetime(2026, 12, 1, tzinfo=UTC)
    assert caught.value.headers["X-RateLimit-Remaining"] == "0"


def test_api_limit_reached_without_reset_header_resets_after_retry_after() -> None:
    before = datetime.now(UTC)
    error = error_from_response(429, "API_LIMIT_REACHED", "Limit.", None, {"retry-after": "60"})
    after = datetime.now(UTC)

    assert isinstance(error, ApiLimitReachedError)
    assert error.resets_at is not None
    assert before + timedelta(seconds=60) <= error.resets_at <= after + timedelta(seconds=60)


def test_rate_limited_carries_retry_after() -> None:
    error = error_from_response(429, "RATE_LIMITED", "Slow down.", "r1", {"Retry-After": "1"})

    assert isinstance(error, RateLimitedError)
    assert error.retry_after == 1.0


def test_errors_survive_pickling_with_their_attributes() -> None:
    error = error_from_response(
        429, "API_LIMIT_REACHED", "Limit.", "r1", {"X-RateLimit-Reset": "1796083200"}
    )

    copy = pickle.loads(pickle.dumps(error))

    assert type(copy) is ApiLimitReachedError
    assert (copy.status, copy.code) == (429, "API_LIMIT_REACHED")
    assert (copy.message, copy.request_id) == ("Limit.", "r1")
    assert copy.resets_at == datetime(2026, 12, 1, tzinfo=UTC)
    assert str(copy) == str(error)


def test_connection_error_pickles_and_says_what_failed() -> None:
    error = KliqsConnectionError("Could not reach the Kliqs API")

    copy = pickle.loads(pickle.dumps(error))

    assert type(copy) is KliqsConnectionError
    assert copy.code == "CONNECTION_ERROR"
    assert copy.status is None
    assert str(copy) == "CONNECTION_ERROR: Could not reach the Kliqs API"


def test_the_code_map_knows_every_leaf_and_nothing_else() -> None:
    assert error_class_for_code("SLUG_ALREADY_EXISTS") is kliqs_core.SlugAlreadyExistsError
    assert error_class_for_code("NOT_A_CODE") is None
    leaves = {code: error_class_for_code(code) for code in EXPECTED}
    assert {cls.__name__ for cls in leaves.values() if cls} == {n for n, _ in EXPECTED.values()}


def test_no_sdk_error_shadows_a_builtin() -> None:
    import builtins

    shadowing = [name for name in kliqs_core.errors.__all__ if hasattr(builtins, name)]
    assert shadowing == []


def test_requests_exceptions_are_wrapped_and_chained() -> None:
    import responses

    kliqs = KliqsClient("kliqs_sk_live_x", base_url="http://kliqs.test", max_retries=0)
    with responses.RequestsMock() as api:
        cause = requests.exceptions.InvalidHeader("bad header")
        api.add(responses.GET, "http://kliqs.test/api/v1/me", body=cause)
        with pytest.raises(KliqsConnectionError) as caught:
            kliqs.me()

    assert caught.value.__cause__ is cause
