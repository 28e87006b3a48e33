"""WooCommerceClient against recorded REST answers (`responses`), including error typing."""

from __future__ import annotations

import json
from collections.abc import Callable, Iterator
from datetime import datetime, timedelta, timezone
from urllib.parse import parse_qs, urlsplit

import pytest
import requests
import responses
import yaml

from integrations.woocommerce.api import WooCommerceClient
from integrations.woocommerce.errors import (
    WooAuthError,
    WooClientError,
    WooCommerceError,
    WooConnectionError,
    WooInvalidResponseError,
    WooNotFoundError,
    WooRateLimitError,
    WooServerError,
)

SHOP = "https://toko-contoh.example"
PRODUCTS = f"{SHOP}/wp-json/wc/v3/products"
Rest = Callable[[str], str]


@pytest.fixture
def mocked() -> Iterator[responses.RequestsMock]:
    with responses.RequestsMock(assert_all_requests_are_fired=True) as mock:
        yield mock


@pytest.fixture
def client() -> WooCommerceClient:
    return WooCommerceClient(SHOP, "ck_test_key", "cs_test_secret")


def _query(call: responses.Call) -> dict[str, list[str]]:
    return parse_qs(urlsplit(call.request.url).query)


def test_iter_products_follows_x_wp_totalpages(
    mocked: responses.RequestsMock, client: WooCommerceClient, rest_fixture: Rest
) -> None:
    mocked._add_from_file(file_path=rest_fixture("get_products_2_pages.yaml"))
    products = list(client.iter_products(per_page=2))
    assert [p.id for p in products] == [101, 103, 105]
    assert all(p.status == "publish" for p in products)
    assert [_query(c)["page"] for c in mocked.calls] == [["1"], ["2"]]
    first = _query(mocked.calls[0])
    assert first["per_page"] == ["2"] and first["status"] == ["publish"]
    assert first["orderby"] == ["id"] and first["order"] == ["asc"]
    assert "modified_after" not in first


def test_https_shop_uses_basic_auth_not_query_credentials(
    mocked: responses.RequestsMock, client: WooCommerceClient, rest_fixture: Rest
) -> None:
    mocked._add_from_file(file_path=rest_fixture("get_product.yaml"))
    client.get_product(101)
    request = mocked.calls[0].request
    assert request.headers["Authorization"].startswith("Basic ")
    assert "ck_test_key" not in request.url and "oauth_signature" not in request.url


def test_modified_after_is_sent_in_gmt(mocked: responses.RequestsMock, client: WooCommerceClient) -> None:
    mocked.get(PRODUCTS, json=[], headers={"X-WP-TotalPages": "0"})
    wib = timezone(timedelta(hours=7))
    assert list(client.iter_products(modified_after=datetime(2025, 3, 4, 9, 0, tzinfo=wib))) == []
    query = _query(mocked.calls[0])
    assert query["modified_after"] == ["2025-03-04T02:00:00"]
    assert query["dates_are_gmt"] == ["true"]


def test_naive_modified_after_is_refused(client: WooCommerceClient) -> None:
    with pytest.raises(ValueError, match="timezone-aware"):
        list(client.iter_products(modified_after=datetime(2025, 3, 4)))


@pytest.mark.parametrize("per_page", [0, 101])
def test_per_page_outside_woocommerce_limits_is_refused(client: WooCommerceClient, per_page: int) -> None:
    with pytest.raises(ValueError, match="per_page"):
        list(client.iter_products(per_page=per_page))


def test_paging_without_total_pages_header_stops_at_a_short_page(
    mocked: responses.RequestsMock, client: WooCommerceClient
) -> None:
    product = {"id": 1, "name": "A", "slug": "a", "permalink": f"{SHOP}/product/a/",
               "status": "publish", "type": "simple", "date_modified_gmt": None}  # fmt: skip
    mocked.get(PRODUCTS, json=[product, {**product, "id": 2}])
    mocked.get(PRODUCTS, json=[{**product, "id": 3}])
    assert [p.id for p in client.iter_products(per_page=2)] == [1, 2, 3]


def test_get_product_parses_the_answer(
    mocked: responses.RequestsMock, client: WooCommerceClient, rest_fixture: Rest
) -> None:
    mocked._add_from_file(file_path=rest_fixture("get_product.yaml"))
    product = client.get_product(101)
    assert (product.id, product.name, product.slug) == (101, "VPS Murah", "vps-murah")
    assert product.permalink == f"{SHOP}/product/vps-murah/"
    request = mocked.calls[0].request
    assert (request.method, urlsplit(request.url).path) == ("GET", "/wp-json/wc/v3/products/101")


def test_set_short_url_puts_only_our_meta_row(
    mocked: responses.RequestsMock, client: WooCommerceClient, rest_fixture: Rest
) -> None:
    mocked._add_from_file(file_path=rest_fixture("put_product.yaml"))
    product = client.set_short_url(101, "https://kliqs.me/vps-murah")
    request = mocked.calls[0].request
    assert request.method == "PUT"
    assert urlsplit(request.url).path == "/wp-json/wc/v3/products/101"
    assert json.loads(request.body) == {
        "meta_data": [{"key": "kliqs_short_url", "value": "https://kliqs.me/vps-murah"}]
    }
    assert product.short_url == "https://kliqs.me/vps-murah"
    assert product.meta["garansi"] == "30 hari"  # the other meta row survives the upsert


def test_set_short_url_fails_when_the_shop_drops_the_meta(
    mocked: responses.RequestsMock, client: WooCommerceClient, rest_fixture: Rest
) -> None:
    # A 200 answering the product without our meta (e.g. a plugin filtered the write).
    with open(rest_fixture("get_product.yaml")) as recorded:
        unchanged = yaml.safe_load(recorded)["responses"][0]["response"]["body"]
    mocked.put(f"{PRODUCTS}/101", body=unchanged, content_type="application/json")
    with pytest.raises(WooInvalidResponseError, match="kliqs_short_url") as info:
        client.set_short_url(101, "https://kliqs.me/vps-murah")
    assert info.value.is_transient is False


@pytest.mark.parametrize(
    ("file_name", "call", "error_class", "status", "code", "transient"),
    [
        ("error_401_cannot_view.yaml", "list", WooAuthError, 401, "woocommerce_rest_cannot_view", False),
        ("error_404_invalid_id.yaml", "get999", WooNotFoundError, 404,
         "woocommerce_rest_product_invalid_id", False),
        ("error_500.yaml", "get101", WooServerError, 500, "internal_server_error", True),
    ],
)
def test_recorded_errors_are_typed(
    mocked: responses.RequestsMock, client: WooCommerceClient, rest_fixture: Rest,
    file_name: str, call: str, error_class: type[WooCommerceError], status: int, code: str,
    transient: bool,
) -> None:
    mocked._add_from_file(file_path=rest_fixture(file_name))
    action = {"list": lambda: list(client.iter_products()), "get999": lambda: client.get_product(999),
              "get101": lambda: client.get_product(101)}[call]  # fmt: skip
    with pytest.raises(error_class) as info:
        action()
    error = info.value
    assert (error.status, error.code, error.is_transient) == (status, code, transient)
    assert error.message and str(status) in str(error)


@pytest.mark.parametrize(
    ("status", "error_class", "transient"),
    [
        (400, WooClientError, False), (403, WooAuthError, False), (409, WooClientError, False),
        (429, WooRateLimitError, True), (502, WooServerError, True), (503, WooServerError, True),
    ],
)  # fmt: skip
def test_statuses_map_to_transient_or_permanent_errors(
    mocked: responses.RequestsMock, client: WooCommerceClient, status: int,
    error_class: type[WooCommerceError], transient: bool,
) -> None:
    mocked.get(f"{PRODUCTS}/5", status=status,
               json={"code": "some_code", "message": "Nope.", "data": {"status": status}})
    with pytest.raises(error_class) as info:
        client.get_product(5)
    assert info.value.is_transient is transient
    assert (info.value.code, info.value.message) == ("some_code", "Nope.")


def test_rate_limit_carries_retry_after(mocked: responses.RequestsMock, client: WooCommerceClient) -> None:
    mocked.get(f"{PRODUCTS}/5", status=429, body="Too Many Requests", headers={"Retry-After": "30"})
    with pytest.raises(WooRateLimitError) as info:
        client.get_product(5)
    assert info.value.retry_after == 30.0
    assert info.value.code is None and info.value.message == "Too Many Requests"


def test_redirect_is_not_followed_and_is_a_permanent_error(
    mocked: responses.RequestsMock, client: WooCommerceClient
) -> None:
    # Following a 302 would turn the PUT into a GET and report a write that never happened.
    mocked.put(f"{PRODUCTS}/5", status=302, headers={"Location": "https://www.toko-contoh.example/"})
    with pytest.raises(WooClientError, match="redirected to https://www.toko-contoh.example/") as info:
        client.set_short_url(5, "https://kliqs.me/x")
    assert info.value.is_transient is False
    assert len(mocked.calls) == 1


def test_html_answer_is_an_invalid_response(mocked: responses.RequestsMock, client: WooCommerceClient) -> None:
    mocked.get(f"{PRODUCTS}/5", body="<!doctype html><title>Toko</title>", content_type="text/html")
    with pytest.raises(WooInvalidResponseError, match="permalinks") as info:
        client.get_product(5)
    assert isinstance(info.value.__cause__, ValueError)


def test_product_of_the_wrong_shape_is_an_invalid_response(
    mocked: responses.RequestsMock, client: WooCommerceClient
) -> None:
    mocked.get(f"{PRODUCTS}/5", json={"id": "5"})
    with pytest.raises(WooInvalidResponseError, match="'id'"):
        client.get_product(5)


@pytest.mark.parametrize(
    ("exc", "transient"),
    [
        (requests.ConnectionError("refused"), True),
        (requests.ConnectTimeout("slow connect"), True),
        (requests.ReadTimeout("slow read"), True),
        (requests.exceptions.SSLError("bad certificate"), False),
    ],
)
def test_requests_exceptions_are_wrapped_and_chained(
    mocked: responses.RequestsMock, client: WooCommerceClient, exc: Exception, transient: bool
) -> None:
    mocked.get(f"{PRODUCTS}/5", body=exc)
    with pytest.raises(WooConnectionError) as info:
        client.get_product(5)
    assert info.value.__cause__ is exc
    assert info.value.is_transient is transient
    assert info.value.status is None


def test_unreachable_port_is_a_transient_connection_error() -> None:
    # Nothing listens on port 9 (discard) on loopback here: a real refused connection.
    unreachable = WooCommerceClient("http://127.0.0.1:9", "ck_x", "cs_x", timeout=2)
    with pytest.raises(WooConnectionError) as info:
        unreachable.get_product(1)
    assert info.value.is_transient is True
    assert isinstance(info.value.__cause__, requests.ConnectionError)


def test_injected_api_object_is_used(mocked: responses.RequestsMock) -> None:
    from woocommerce import API

    api = API(url="https://other-shop.example", consumer_key="ck_o", consumer_secret="cs_o",
              version="wc/v3", timeout=3)  # fmt: skip
    mocked.get("https://other-shop.example/wp-json/wc/v3/products/5", status=404,
               json={"code": "woocommerce_rest_product_invalid_id", "message": "Invalid ID.",
                     "data": {"status": 404}})  # fmt: skip
    with pytest.raises(WooNotFoundError):
        WooCommerceClient(SHOP, "unused", "unused", api=api).get_product(5)
