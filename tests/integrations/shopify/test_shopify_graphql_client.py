"""GraphQLClient: the kinds of failure are told apart, and THROTTLED waits as the cost says."""

from __future__ import annotations

import json
from typing import Any

import pytest
import requests
import responses

from integrations.shopify.graphql import (
    GraphQLClient,
    GraphQLConnectionError,
    GraphQLHTTPError,
    GraphQLResponseError,
    GraphQLThrottledError,
    GraphQLUserError,
    load_document,
)

ENDPOINT = "https://kliqs-demo.myshopify.com/admin/api/2026-07/graphql.json"
OK_SET = {
    "data": {"metafieldsSet": {"metafields": [{"id": "gid://shopify/Metafield/1"}],
                               "userErrors": []}},
    "extensions": {"cost": {"requestedQueryCost": 10, "actualQueryCost": 10, "throttleStatus": {
        "maximumAvailable": 2000.0, "currentlyAvailable": 1990.0, "restoreRate": 100.0}}},
}


def throttled(requested: float, available: float, restore_rate: float) -> dict[str, Any]:
    """The documented THROTTLED body (no data, actualQueryCost null)."""
    return {
        "errors": [{"message": "Throttled", "extensions": {
            "code": "THROTTLED", "documentation": "https://shopify.dev/api/usage/rate-limits"}}],
        "extensions": {"cost": {"requestedQueryCost": requested, "actualQueryCost": None,
                                "throttleStatus": {"maximumAvailable": 1000.0,
                                                   "currentlyAvailable": available,
                                                   "restoreRate": restore_rate}}},
    }


class FakeSleep:
    """Records the waits instead of sleeping."""

    def __init__(self) -> None:
        self.waits: list[float] = []

    def __call__(self, seconds: float) -> None:
        self.waits.append(seconds)


@pytest.fixture
def sleep() -> FakeSleep:
    return FakeSleep()


@pytest.fixture
def client(sleep: FakeSleep) -> GraphQLClient:
    return GraphQLClient(ENDPOINT, {"X-Shopify-Access-Token": "shpat_x"}, sleep=sleep)


def set_shortlink(client: GraphQLClient) -> dict[str, Any]:
    variables = {"metafields": [{"ownerId": "gid://shopify/Product/1", "namespace": "kliqs",
                                 "key": "short_url", "type": "url", "value": "https://kliqs.me/a"}]}
    return client.execute(load_document("SetShortlink"), variables)


@responses.activate
def test_success_returns_data_and_sends_named_document(client: GraphQLClient) -> None:
    responses.post(ENDPOINT, json=OK_SET)
    data = set_shortlink(client)
    assert data["metafieldsSet"]["metafields"][0]["id"] == "gid://shopify/Metafield/1"
    sent = responses.calls[0].request
    assert sent.body is not None
    body = json.loads(sent.body)
    assert body["operationName"] == "SetShortlink"
    assert body["query"] == load_document("SetShortlink").source
    assert body["variables"]["metafields"][0]["key"] == "short_url"
    assert sent.headers["X-Shopify-Access-Token"] == "shpat_x"
    assert sent.headers["Content-Type"] == "application/json"
    assert client.last_cost is not None and client.last_cost.currently_available == 1990.0


@responses.activate
def test_throttled_200_waits_for_bucket_then_succeeds(
    client: GraphQLClient, sleep: FakeSleep
) -> None:
    responses.post(ENDPOINT, json=throttled(requested=752, available=666, restore_rate=50.0))
    responses.post(ENDPOINT, json=OK_SET)
    data = set_shortlink(client)
    assert data["metafieldsSet"]["userErrors"] == []
    assert sleep.waits == [pytest.approx((752 - 666) / 50.0)]  # 1.72 s
    assert len(responses.calls) == 2


@responses.activate
def test_throttled_429_form_is_waited_out_too(client: GraphQLClient, sleep: FakeSleep) -> None:
    for available in (20, 60):
        responses.post(ENDPOINT, status=429,
                       json=throttled(requested=100, available=available, restore_rate=100.0))
    responses.post(ENDPOINT, json=OK_SET)
    set_shortlink(client)
    assert sleep.waits == [pytest.approx(0.8), pytest.approx(0.4)]


@responses.activate
def test_bare_429_without_cost_uses_retry_after(client: GraphQLClient, sleep: FakeSleep) -> None:
    responses.post(ENDPOINT, status=429, body="Too Many Requests", headers={"Retry-After": "2.5"})
    responses.post(ENDPOINT, json=OK_SET)
    set_shortlink(client)
    assert sleep.waits == [2.5]


@responses.activate
def test_throttling_is_bounded_and_then_transient(sleep: FakeSleep) -> None:
    client = GraphQLClient(ENDPOINT, {}, sleep=sleep, max_throttle_retries=2)
    for _ in range(3):
        responses.post(ENDPOINT, json=throttled(requested=50, available=0, restore_rate=100.0))
    with pytest.raises(GraphQLThrottledError) as caught:
        set_shortlink(client)
    assert caught.value.is_transient
    assert caught.value.codes == ("THROTTLED",)
    assert sleep.waits == [0.5, 0.5]
    assert len(responses.calls) == 3


@responses.activate
def test_single_wait_is_capped(sleep: FakeSleep) -> None:
    client = GraphQLClient(ENDPOINT, {}, sleep=sleep, max_throttle_wait=3.0)
    responses.post(ENDPOINT, json=throttled(requested=1000, available=0, restore_rate=50.0))
    responses.post(ENDPOINT, json=OK_SET)
    set_shortlink(client)
    assert sleep.waits == [3.0]


@responses.activate
def test_user_errors_are_surfaced_with_field_message_and_code(client: GraphQLClient) -> None:
    responses.post(ENDPOINT, json={"data": {"metafieldsSet": {"metafields": None, "userErrors": [
        {"field": ["metafields", "0", "value"], "message": "Value must be a valid URL.",
         "code": "INVALID_VALUE", "elementIndex": 0}]}}})
    with pytest.raises(GraphQLUserError) as caught:
        set_shortlink(client)
    error = caught.value
    assert not error.is_transient
    assert error.codes == ("INVALID_VALUE",)
    assert error.user_errors[0].field == ("metafields", "0", "value")
    assert error.user_errors[0].message == "Value must be a valid URL."
    assert "metafields.0.value: Value must be a valid URL. (INVALID_VALUE)" in str(error)


@responses.activate
def test_top_level_errors_are_permanent_response_errors(client: GraphQLClient) -> None:
    responses.post(ENDPOINT, json={"errors": [{
        "message": "Access denied for metafieldsSet field. Required access: `write_products`.",
        "extensions": {"code": "ACCESS_DENIED"}}], "data": {"metafieldsSet": None}})
    with pytest.raises(GraphQLResponseError) as caught:
        set_shortlink(client)
    assert caught.value.codes == ("ACCESS_DENIED",)
    assert not caught.value.is_transient
    assert "write_products" in str(caught.value)


@responses.activate
def test_internal_server_error_code_inside_200_is_transient(client: GraphQLClient) -> None:
    responses.post(ENDPOINT, json={"errors": [{
        "message": "Internal error. Looks like something went wrong on our end.",
        "extensions": {"code": "INTERNAL_SERVER_ERROR", "requestId": "abc"}}]})
    with pytest.raises(GraphQLResponseError) as caught:
        set_shortlink(client)
    assert caught.value.is_transient


@pytest.mark.parametrize("status", [500, 502, 503, 504])
@responses.activate
def test_5xx_is_a_transient_http_error(client: GraphQLClient, status: int) -> None:
    responses.post(ENDPOINT, status=status, body="upstream unavailable")
    with pytest.raises(GraphQLHTTPError) as caught:
        set_shortlink(client)
    assert caught.value.status == status
    assert caught.value.is_transient
    assert "upstream unavailable" in caught.value.body


@pytest.mark.parametrize("status", [401, 402, 403, 404])
@responses.activate
def test_other_4xx_is_a_permanent_http_error(client: GraphQLClient, status: int) -> None:
    responses.post(ENDPOINT, status=status,
                   json={"errors": "[API] Invalid API key or access token"})
    with pytest.raises(GraphQLHTTPError) as caught:
        set_shortlink(client)
    assert caught.value.status == status
    assert not caught.value.is_transient


@responses.activate
def test_connection_error_is_chained_and_transient(client: GraphQLClient) -> None:
    responses.post(ENDPOINT, body=requests.ConnectionError("connection refused"))
    with pytest.raises(GraphQLConnectionError) as caught:
        set_shortlink(client)
    assert caught.value.is_transient
    assert isinstance(caught.value, GraphQLHTTPError) and caught.value.status is None
    assert isinstance(caught.value.__cause__, requests.ConnectionError)


@responses.activate
def test_timeout_is_a_connection_error(client: GraphQLClient) -> None:
    responses.post(ENDPOINT, body=requests.ReadTimeout("read timed out"))
    with pytest.raises(GraphQLConnectionError) as caught:
        set_shortlink(client)
    assert isinstance(caught.value.__cause__, requests.Timeout)


@responses.activate
def test_non_json_200_is_a_permanent_http_error(client: GraphQLClient) -> None:
    responses.post(ENDPOINT, body="<html>maintenance</html>", content_type="text/html")
    with pytest.raises(GraphQLHTTPError) as caught:
        set_shortlink(client)
    assert caught.value.status == 200
    assert not caught.value.is_transient


@responses.activate
def test_saleor_style_errors_list_in_mutation_payload_is_a_user_error(
    client: GraphQLClient,
) -> None:
    from integrations.saleor.graphql import load_document as saleor_document

    responses.post(ENDPOINT, json={"data": {"updateMetadata": {"errors": [
        {"field": "id", "message": "Couldn't resolve to a node: X", "code": "NOT_FOUND"}],
        "item": None}}})
    with pytest.raises(GraphQLUserError) as caught:
        client.execute(saleor_document("UpdateShortlinkMetadata"),
                       {"id": "X", "input": [{"key": "kliqs_short_url", "value": "v"}]})
    assert caught.value.user_errors[0].field == ("id",)
    assert caught.value.codes == ("NOT_FOUND",)


@responses.activate
def test_query_data_is_returned_without_user_error_checks(client: GraphQLClient) -> None:
    responses.post(ENDPOINT, json={"data": {"product": None, "shop": {"primaryDomain": {
        "url": "https://toko.example"}}}})
    data = client.execute(load_document("ProductForShortlink"), {"id": "gid://shopify/Product/1"})
    assert data["product"] is None


@responses.activate
def test_response_without_data_or_errors_is_a_response_error(client: GraphQLClient) -> None:
    responses.post(ENDPOINT, json={"extensions": {}})
    with pytest.raises(GraphQLResponseError, match="no data"):
        set_shortlink(client)
