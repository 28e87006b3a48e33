"""The real WooCommerceClient against the WooCommerce stand-in over real HTTP, and Hookshot deliveries."""

from __future__ import annotations

import json
import threading
from collections.abc import Iterator
from datetime import datetime, timedelta, timezone
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import pytest
import requests

from integrations.woocommerce.api import WooCommerceClient
from integrations.woocommerce.errors import WooAuthError, WooNotFoundError, WooServerError
from integrations.woocommerce.webhooks import (
    is_our_echo,
    is_ping,
    parse_delivery,
    parse_product,
    should_shorten,
    verify_signature,
)
from tests.standins.woocommerce_hookshot import post_ping, sign_and_post
from tests.standins.woocommerce_standin import PRODUCTS_PATH, WooStandin


@pytest.fixture
def client(standin: WooStandin) -> WooCommerceClient:
    return WooCommerceClient(standin.url, "ck_test_key", "cs_test_secret", timeout=5)


def test_http_shop_is_reached_with_oauth1_query_auth(standin: WooStandin, client: WooCommerceClient) -> None:
    standin.add_product(id=101, name="VPS Murah")
    product = client.get_product(101)
    assert (product.id, product.slug) == (101, "vps-murah")
    assert product.permalink == f"{standin.url}/product/vps-murah/"
    [request] = standin.requests
    assert (request["method"], request["path"], request["auth"]) == (
        "GET", f"{PRODUCTS_PATH}/101", "oauth1",
    )
    assert request["query"]["oauth_consumer_key"] == "ck_test_key"
    assert request["query"]["oauth_signature_method"] == "HMAC-SHA256"


def test_iter_products_walks_every_page_and_skips_drafts(
    standin: WooStandin, client: WooCommerceClient
) -> None:
    for number in range(1, 6):
        standin.add_product(id=200 + number, name=f"Produk {number}")
    standin.add_product(id=300, name="Masih Draf", status="draft")
    ids = [p.id for p in client.iter_products(per_page=2)]
    assert ids == [201, 202, 203, 204, 205]
    assert [r["query"]["page"] for r in standin.requests] == ["1", "2", "3"]


def test_iter_products_modified_after_uses_gmt_dates(standin: WooStandin, client: WooCommerceClient) -> None:
    # The stand-in's site runs on WIB (UTC+7): comparing local dates would return both.
    standin.add_product(id=1, name="Lama", date_modified_gmt="2025-03-04T01:00:00",
                        date_modified="2025-03-04T08:00:00")
    standin.add_product(id=2, name="Baru", date_modified_gmt="2025-03-04T03:00:00",
                        date_modified="2025-03-04T10:00:00")
    cutoff = datetime(2025, 3, 4, 2, 0, tzinfo=timezone.utc)
    assert [p.id for p in client.iter_products(modified_after=cutoff)] == [2]
    assert [p.id for p in client.iter_products(status="any")] == [1, 2]


def test_set_short_url_upserts_meta_by_key(standin: WooStandin, client: WooCommerceClient) -> None:
    standin.add_product(id=101, name="VPS Murah",
                        meta_data=[{"key": "garansi", "value": "30 hari"},
                                   {"key": "kliqs_short_url", "value": "https://kliqs.me/lama"}])
    product = client.set_short_url(101, "https://kliqs.me/vps-murah")
    assert product.short_url == "https://kliqs.me/vps-murah"
    stored = standin.products[101]["meta_data"]
    assert [(row["key"], row["value"]) for row in stored] == [
        ("garansi", "30 hari"), ("kliqs_short_url", "https://kliqs.me/vps-murah"),
    ]
    put = standin.requests[-1]
    assert put["method"] == "PUT"
    assert put["json"] == {"meta_data": [{"key": "kliqs_short_url", "value": "https://kliqs.me/vps-murah"}]}
    # Our write-back, fetched again (as the product.updated webhook would carry it), is an echo.
    again = client.get_product(101)
    assert is_our_echo(again) and not should_shorten(again)


def test_unknown_product_is_not_found(standin: WooStandin, client: WooCommerceClient) -> None:
    with pytest.raises(WooNotFoundError) as info:
        client.get_product(999)
    assert info.value.code == "woocommerce_rest_product_invalid_id"


def test_forced_failures_then_recovery(standin: WooStandin, client: WooCommerceClient) -> None:
    standin.add_product(id=5, name="Kaos")
    standin.fail_next(2, status=503)
    for _ in range(2):
        with pytest.raises(WooServerError) as info:
            client.get_product(5)
        assert info.value.is_transient
    assert client.get_product(5).id == 5


def test_wrong_consumer_key_is_an_auth_error() -> None:
    with WooStandin(consumer_key="ck_right") as shop:
        shop.add_product(id=5, name="Kaos")
        wrong = WooCommerceClient(shop.url, "ck_wrong", "cs_x", timeout=5)
        with pytest.raises(WooAuthError) as info:
            wrong.get_product(5)
        assert info.value.code == "woocommerce_rest_authentication_error"
        assert WooCommerceClient(shop.url, "ck_right", "cs_x", timeout=5).get_product(5).id == 5


def test_request_without_credentials_gets_woocommerce_401(standin: WooStandin) -> None:
    response = requests.get(standin.url + PRODUCTS_PATH, timeout=5)
    assert response.status_code == 401
    assert response.json() == {"code": "woocommerce_rest_cannot_view",
                               "message": "Sorry, you cannot list resources.", "data": {"status": 401}}


def test_basic_auth_is_accepted(standin: WooStandin) -> None:
    response = requests.get(standin.url + PRODUCTS_PATH, auth=("ck_a", "cs_b"), timeout=5)
    assert response.status_code == 200
    assert response.headers["X-WP-Total"] == "0" and response.json() == []
    assert standin.requests[0]["auth"] == "basic"


def test_control_routes_over_http(standin: WooStandin) -> None:
    seeded = requests.post(f"{standin.url}/__standin/products", json={"id": 42, "name": "Tas Rotan"},
                           timeout=5).json()
    assert seeded["permalink"] == f"{standin.url}/product/tas-rotan/"
    requests.post(f"{standin.url}/__standin/fail?count=1&status=500", timeout=5)
    assert requests.get(f"{standin.url}{PRODUCTS_PATH}/42", auth=("k", "s"), timeout=5).status_code == 500
    assert requests.get(f"{standin.url}{PRODUCTS_PATH}/42", auth=("k", "s"), timeout=5).status_code == 200
    recorded = requests.get(f"{standin.url}/__standin/requests", timeout=5).json()
    assert [(r["method"], r["path"]) for r in recorded] == [("GET", f"{PRODUCTS_PATH}/42")] * 2


def test_rest_answers_escape_slashes_like_wordpress(standin: WooStandin) -> None:
    standin.add_product(id=7, name="Sepatu")
    raw = requests.get(f"{standin.url}{PRODUCTS_PATH}/7", auth=("k", "s"), timeout=5).content
    assert b'"permalink":"http:\\/\\/127.0.0.1' in raw


class _Receiver:
    """A minimal connector endpoint that applies our webhook functions to what arrives."""

    def __init__(self, secret: str) -> None:
        self.seen: list[dict[str, Any]] = []
        receiver = self

        class Handler(BaseHTTPRequestHandler):
            def log_message(self, format: str, *args: Any) -> None:  # noqa: A002
                pass

            def do_POST(self) -> None:
                raw = self.rfile.read(int(self.headers["Content-Length"]))
                headers = dict(self.headers.items())
                receiver.seen.append({"raw": raw, "headers": headers})
                if is_ping(raw, headers):
                    status = 200
                else:
                    ok = verify_signature(raw, headers.get("X-WC-Webhook-Signature"), secret)
                    status = 200 if ok else 401
                self.send_response(status)
                self.send_header("Content-Length", "0")
                self.end_headers()

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.thread = threading.Thread(target=self.server.serve_forever, args=(0.05,), daemon=True)
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}/webhooks/woocommerce"


@pytest.fixture
def receiver(secret: str) -> Iterator[_Receiver]:
    endpoint = _Receiver(secret)
    endpoint.thread.start()
    try:
        yield endpoint
    finally:
        endpoint.server.shutdown()
        endpoint.server.server_close()


def test_sign_and_post_delivers_exactly_like_woocommerce(receiver: _Receiver, secret: str) -> None:
    product = {"id": 101, "name": "Kopi Gayo – 250 g", "slug": "kopi-gayo", "status": "publish",
               "type": "simple", "permalink": "https://toko-contoh.example/product/kopi-gayo/",
               "date_modified_gmt": "2025-03-04T02:14:02", "meta_data": []}  # fmt: skip
    response = sign_and_post(receiver.url, secret, product, "product.created", "abc123", webhook_id=7)
    assert response.status_code == 200
    [seen] = receiver.seen
    assert b"https:\\/\\/toko-contoh.example" in seen["raw"] and b"\\u2013" in seen["raw"]
    delivery = parse_delivery(seen["headers"])
    assert (delivery.topic, delivery.resource, delivery.event) == ("product.created", "product", "created")
    assert (delivery.webhook_id, delivery.delivery_id) == (7, "abc123")
    assert parse_product(seen["raw"]).name == "Kopi Gayo – 250 g"
    assert seen["headers"]["User-Agent"].startswith("WooCommerce/")


def test_sign_and_post_sends_raw_fixture_bytes_untouched(
    receiver: _Receiver, secret: str, fixture_bytes: Any
) -> None:
    raw = fixture_bytes("product.updated.echo.json")
    assert sign_and_post(receiver.url, secret, raw, "product.updated", "d-2").status_code == 200
    assert receiver.seen[0]["raw"] == raw


def test_delivery_signed_with_another_secret_is_refused(receiver: _Receiver) -> None:
    response = sign_and_post(receiver.url, "not-the-secret", {"id": 1}, "product.created", "d-3")
    assert response.status_code == 401


def test_ping_is_recognised_by_the_receiver(receiver: _Receiver) -> None:
    assert post_ping(receiver.url, 7).status_code == 200
    [seen] = receiver.seen
    assert seen["raw"] == b"webhook_id=7"
    assert not any(name.lower().startswith("x-wc-webhook") for name in seen["headers"])


def test_standin_runs_as_a_script(tmp_path: Any) -> None:
    import socket
    import subprocess
    import sys
    import time
    from pathlib import Path

    with socket.socket() as probe:  # find a free port, then let the script bind it
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    seed = tmp_path / "seed.json"
    seed.write_text(json.dumps({"id": 9, "name": "Madu Hutan"}))
    script = Path(__file__).parents[2] / "standins" / "woocommerce_standin.py"
    process = subprocess.Popen([sys.executable, str(script), "--port", str(port), "--seed", str(seed)],
                               stdout=subprocess.PIPE, stderr=subprocess.PIPE)  # fmt: skip
    try:
        assert process.stdout is not None
        assert f"127.0.0.1:{port}" in process.stdout.readline().decode()
        deadline = time.monotonic() + 10
        while True:
            try:
                answer = requests.get(f"http://127.0.0.1:{port}{PRODUCTS_PATH}/9", auth=("k", "s"), timeout=2)
                break
            except requests.ConnectionError:
                assert time.monotonic() < deadline
                time.sleep(0.05)
        assert answer.json()["slug"] == "madu-hutan"
    finally:
        process.terminate()
        process.wait(timeout=10)
        for stream in (process.stdout, process.stderr):
            if stream is not None:
                stream.close()


def test_modified_after_filter_is_exclusive_and_timezone_safe(standin: WooStandin, client: WooCommerceClient) -> None:
    moment = datetime(2025, 3, 4, 2, 0, tzinfo=timezone.utc)
    standin.add_product(id=1, name="Tepat", date_modified_gmt="2025-03-04T02:00:00",
                        date_modified="2025-03-04T09:00:00")
    assert list(client.iter_products(modified_after=moment)) == []
    earlier = moment.astimezone(timezone(timedelta(hours=7))) - timedelta(seconds=1)
    assert [p.id for p in client.iter_products(modified_after=earlier)] == [1]


def test_calls_from_one_thread_reuse_one_connection(standin: WooStandin,
                                                    client: WooCommerceClient) -> None:
    # woocommerce.API would open a connection per call (requests.request); the client's
    # calls share a keep-alive connection per thread instead.
    standin.add_product(id=101, name="VPS Murah")
    client.get_product(101)
    client.set_short_url(101, "https://kliqs.me/vps-murah")
    client.get_product(101)
    ports = {request["peer_port"] for request in standin.requests}
    assert len(standin.requests) == 3 and len(ports) == 1
