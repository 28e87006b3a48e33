"""Each kind of GraphQL failure becomes the right runtime error: retried, or failed with its code."""

from __future__ import annotations

import pytest

from integrations.shopify.graphql import (
    GraphQLClientError,
    GraphQLConnectionError,
    GraphQLHTTPError,
    GraphQLResponseError,
    GraphQLThrottledError,
    GraphQLUserError,
    UserErrorDetail,
)
from integrations.shopify.graphql.platform_errors import platform_error, raising_platform_errors
from kliqs_core.connector import PermanentPlatformError, TransientPlatformError

THROTTLED = [{"message": "Throttled", "extensions": {"code": "THROTTLED"}}]
DENIED = [{"message": "Access denied for metafieldsSet field.",
           "extensions": {"code": "ACCESS_DENIED"}}]
INTERNAL = [{"message": "Internal error", "extensions": {"code": "INTERNAL_SERVER_ERROR"}}]
USER = [UserErrorDetail("Value must be a valid URL.", ("metafields", "0", "value"),
                        "INVALID_VALUE")]


@pytest.mark.parametrize(("error", "kind", "code"), [
    (GraphQLThrottledError("throttled", errors=THROTTLED, retry_after=7.5),
     TransientPlatformError, "SHOPIFY_THROTTLED"),
    (GraphQLUserError(USER, operation="SetShortlink"),
     PermanentPlatformError, "SHOPIFY_USER_ERROR"),
    (GraphQLConnectionError("refused"), TransientPlatformError, "SHOPIFY_UNREACHABLE"),
    (GraphQLHTTPError("bad gateway", status=502), TransientPlatformError, "SHOPIFY_HTTP_502"),
    (GraphQLHTTPError("slow down", status=429), TransientPlatformError, "SHOPIFY_HTTP_429"),
    (GraphQLHTTPError("who", status=401), PermanentPlatformError, "SHOPIFY_UNAUTHORIZED"),
    (GraphQLHTTPError("scope", status=403), PermanentPlatformError, "SHOPIFY_FORBIDDEN"),
    (GraphQLHTTPError("gone", status=404), PermanentPlatformError, "SHOPIFY_NOT_FOUND"),
    (GraphQLHTTPError("odd", status=422), PermanentPlatformError, "SHOPIFY_HTTP_422"),
    (GraphQLHTTPError("not json", status=None), PermanentPlatformError, "SHOPIFY_HTTP_0"),
    (GraphQLResponseError("denied", errors=DENIED), PermanentPlatformError,
     "SHOPIFY_ACCESS_DENIED"),
    (GraphQLResponseError("oops", errors=INTERNAL), TransientPlatformError,
     "SHOPIFY_INTERNAL_SERVER_ERROR"),
    (GraphQLResponseError("no code", errors=[{"message": "x"}]), PermanentPlatformError,
     "SHOPIFY_GRAPHQL_ERROR"),
])
def test_each_failure_kind_maps_to_its_runtime_error(
    error: GraphQLClientError, kind: type, code: str
) -> None:
    mapped = platform_error(error, platform="shopify")
    assert type(mapped) is kind
    assert mapped.code == code and mapped.message == error.message


def test_throttle_keeps_its_wait_for_the_queue() -> None:
    mapped = platform_error(GraphQLThrottledError("t", errors=THROTTLED, retry_after=7.5),
                            platform="shopify")
    assert mapped.retry_after == 7.5


def test_user_error_message_lists_field_message_and_code() -> None:
    mapped = platform_error(GraphQLUserError(USER, operation="SetShortlink"), platform="saleor")
    assert mapped.code == "SALEOR_USER_ERROR"
    assert mapped.message == (
        "SetShortlink refused: metafields.0.value: Value must be a valid URL. (INVALID_VALUE)")


def test_odd_error_codes_are_made_safe_and_short() -> None:
    weird = [{"message": "x", "extensions": {"code": "permission-denied: " + "z" * 80}}]
    mapped = platform_error(GraphQLResponseError("x", errors=weird), platform="saleor")
    assert mapped.code.startswith("SALEOR_PERMISSION_DENIED_ZZZ") and len(mapped.code) == 64


def test_context_manager_chains_the_client_error() -> None:
    cause = GraphQLHTTPError("bad gateway", status=502)
    with pytest.raises(TransientPlatformError) as caught, raising_platform_errors("shopify"):
        raise cause
    assert caught.value.__cause__ is cause


def test_other_exceptions_pass_through_unchanged() -> None:
    with pytest.raises(KeyError), raising_platform_errors("shopify"):
        raise KeyError("not a GraphQL error")
