"""ShopifyAdmin against the Admin GraphQL stand-in over real HTTP, and signed webhook sending."""

from __future__ import annotations

import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import pytest

from integrations.shopify.api import ShopifyAdmin
from integrations.shopify.graphql import GraphQLHTTPError, GraphQLUserError
from integrations.shopify.webhooks import ShopifyDelivery, parse_product, verify_hmac
from tests.standins.shopify_standin import ShopifyAdminStandin, product_payload, send_webhook


@pytest.fixture
def standin() -> Iterator[ShopifyAdminStandin]:
    with ShopifyAdminStandin() as running:
        yield running


@pytest.fixture
def waits() -> list[float]:
    return []


@pytest.fixture
def admin(standin: ShopifyAdminStandin, waits: list[float]) -> ShopifyAdmin:
    return ShopifyAdmin(standin.shop, standin.access_token, admin_url=standin.url,
                        sleep=waits.append)


def test_read_then_write_back_short_url(standin: ShopifyAdminStandin, admin: ShopifyAdmin) -> None:
    gid = standin.add_product(1001, "VPS Murah")
    target = admin.product_for_shortlink(gid)
    assert target.url == "https://toko-kliqs.example/products/vps-murah"
    assert target.short_url is None
    admin.set_short_url(gid, "https://kliqs.me/vps-murah")
    assert standin.short_url_of(gid) == "https://kliqs.me/vps-murah"
    assert standin.mutations[-1]["metafieldsSet"][0]["type"] == "url"
    assert admin.product_for_shortlink(gid).short_url == "https://kliqs.me/vps-murah"


@pytest.mark.parametrize("http_status", [200, 429])
def test_throttled_then_success_over_http(
    standin: ShopifyAdminStandin, admin: ShopifyAdmin, waits: list[float], http_status: int
) -> None:
    gid = standin.add_product(1001, "VPS Murah")
    standin.throttle_next(requested=752, available=666.0, restore_rate=50.0,
                          http_status=http_status)
    admin.set_short_url(gid, "https://kliqs.me/vps-murah")
    assert waits == [pytest.approx(1.72)]
    assert len(standin.requests) == 2
    assert standin.short_url_of(gid) == "https://kliqs.me/vps-murah"


def test_user_errors_over_http_leave_product_untouched(
    standin: ShopifyAdminStandin, admin: ShopifyAdmin
) -> None:
    gid = standin.add_product(1001, "VPS Murah")
    standin.user_errors_next([{"field": ["metafields", "0", "value"], "code": "INVALID_VALUE",
                               "message": "Value is not a valid URL", "elementIndex": 0}])
    with pytest.raises(GraphQLUserError) as caught:
        admin.set_short_url(gid, "nope")
    assert caught.value.codes == ("INVALID_VALUE",)
    assert standin.short_url_of(gid) is None


def test_wrong_token_is_a_permanent_401(standin: ShopifyAdminStandin) -> None:
    wrong = ShopifyAdmin(standin.shop, "shpat_wrong", admin_url=standin.url)
    with pytest.raises(GraphQLHTTPError) as caught:
        wrong.product_for_shortlink("gid://shopify/Product/1")
    assert caught.value.status == 401 and not caught.value.is_transient


def test_sync_lists_active_products_without_short_url(
    standin: ShopifyAdminStandin, admin: ShopifyAdmin
) -> None:
    standin.add_product(1, "Satu")
    standin.add_product(2, "Dua", status="DRAFT")
    standin.add_product(3, "Tiga", short_url="https://kliqs.me/tiga")
    standin.add_product(4, "Empat", online_store_url="https://toko.example/products/empat")
    standin.add_product(5, "Lima")
    found = list(admin.iter_products_without_shortlink(page_size=2))
    assert [t.handle for t in found] == ["satu", "empat", "lima"]
    assert found[1].url == "https://toko.example/products/empat"


class _Receiver(BaseHTTPRequestHandler):
    received: list[tuple[dict[str, str], bytes]] = []

    def do_POST(self) -> None:  # noqa: N802
        body = self.rfile.read(int(self.headers["Content-Length"]))
        self.received.append(({k: v for k, v in self.headers.items()}, body))
        self.send_response(200)
        self.send_header("Content-Length", "0")
        self.end_headers()

    def log_message(self, format: str, *args: Any) -> None:
        return


def test_send_webhook_helper_signs_like_shopify() -> None:
    server = ThreadingHTTPServer(("127.0.0.1", 0), _Receiver)
    thread = threading.Thread(
        target=server.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True
    )
    thread.start()
    try:
        url = f"http://127.0.0.1:{server.server_address[1]}/webhooks/shopify"
        response = send_webhook(url, product_payload(1001, "VPS Murah"), secret="s3cret",
                                topic="products/update")
        assert response.status_code == 200
    finally:
        server.shutdown()
        server.server_close()
    headers, body = _Receiver.received[-1]
    assert verify_hmac(body, headers["X-Shopify-Hmac-Sha256"], ["s3cret"])
    assert not verify_hmac(body, headers["X-Shopify-Hmac-Sha256"], ["other"])
    assert ShopifyDelivery.from_headers(headers).topic == "products/update"
    assert parse_product(body).admin_graphql_api_id == "gid://shopify/Product/1001"
