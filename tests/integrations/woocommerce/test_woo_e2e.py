"""End to end: WooCommerce delivery -> connector process -> worker process -> Kliqs -> shop PUT.

Everything is a real process talking HTTP: ``kliqs serve`` (the Kliqs server), ``kliqs
connect`` (the connector web app with the woocommerce plug-in), a Celery worker, and the
WooCommerce stand-in. Each test runs embedded (SQLite + SQLAlchemy broker) and on Redis +
PostgreSQL (the connector's database).
"""

from __future__ import annotations

import json

import pytest
import requests

from tests.integrations.woocommerce.woo_e2e import E2E, PUBLIC_SHOP, wp_json_encode
from tests.standins.woocommerce_hookshot import USER_AGENT, post_ping, signature_for

pytestmark = pytest.mark.slow


# The module's tests share one Kliqs server per backend, and slugs are global: each test
# names its products differently.


def test_signed_webhook_becomes_one_kliqs_link_and_one_put_and_shows_done(e2e: E2E) -> None:
    stack = e2e.start()
    product = e2e.product("VPS Murah")
    body = wp_json_encode(product)
    assert b"https:\\/\\/toko-contoh.example\\/product\\/vps-murah\\/" in body

    response = e2e.deliver(body)

    assert response.status_code == 200
    stack.wait_for(lambda: stack.all_in_state(["101"]), what="product 101 notified")
    short_url = f"{e2e.server.url}/vps-murah"
    assert e2e.links() == [("vps-murah", f"{PUBLIC_SHOP}/product/vps-murah/")]
    [put] = e2e.write_backs(101)
    assert e2e.shop_requests(101, "PUT") == [put]
    assert put["json"] == {"meta_data": [{"key": "kliqs_short_url", "value": short_url}]}
    assert {"key": "kliqs_short_url", "value": short_url}.items() <= (
        e2e.shop.products[101]["meta_data"][0].items()
    )
    status = stack.kliqs("connect", "status", "--platform", "woocommerce")
    assert status.returncode == 0, status.stderr
    row = next(line for line in status.stdout.splitlines() if "VPS Murah" in line)
    assert "notified" in row and short_url in row
    assert "notified: 1" in status.stdout


def test_duplicate_delivery_echo_and_replay_still_give_one_link_and_one_put(e2e: E2E) -> None:
    stack = e2e.start()
    product = e2e.product("Kopi Gayo")
    first = e2e.deliver(product, delivery_id="wc-delivery-1")
    again = e2e.deliver(product, delivery_id="wc-delivery-1")  # the same delivery twice
    saved = e2e.deliver(product, "product.updated")  # an admin save: same product, new id
    assert [r.status_code for r in (first, again, saved)] == [200, 200, 200]
    assert again.json()["data"]["duplicate"] is True
    stack.wait_for(lambda: stack.all_in_state(["101"]), what="product 101 notified")

    echo = e2e.deliver(e2e.shop.products[101], "product.updated")  # fired by our own PUT
    replay = e2e.deliver(product, delivery_id="wc-delivery-1")
    assert echo.json()["data"]["status"] == "ignored" and "echo" in echo.json()["data"]["reason"]
    assert replay.json()["data"]["duplicate"] is True
    # A barrier: once a later product is done, anything the echo could have caused has run.
    e2e.deliver(e2e.product("Teh Tarik"))
    stack.wait_for(lambda: stack.all_in_state(["102"]), what="barrier product notified")

    assert [code for code, _ in e2e.links()] == ["kopi-gayo", "teh-tarik"]
    assert len(e2e.write_backs(101)) == 1
    assert len(e2e.kliqs_proxy.log(method="POST", prefix="/api/v1/links")) == 2
    statuses = [d.status for d in stack.deliveries()]
    assert statuses.count("processed") >= 2 and "accepted" not in statuses


def test_forged_or_missing_signature_401_stores_nothing_malformed_json_400_rejected(
    e2e: E2E,
) -> None:
    stack = e2e.start(worker=False)
    body = wp_json_encode(e2e.product("Sepatu Lari"))
    headers = {"User-Agent": USER_AGENT, "Content-Type": "application/json",
               "X-WC-Webhook-Source": PUBLIC_SHOP + "/", "X-WC-Webhook-Topic": "product.created",
               "X-WC-Webhook-ID": "3", "X-WC-Webhook-Delivery-ID": "forged-1"}  # fmt: skip

    forged = requests.post(stack.webhook_url, data=body, timeout=30, headers={
        **headers, "X-WC-Webhook-Signature": signature_for(body, "not-the-shop-secret")})
    missing = requests.post(stack.webhook_url, data=body, headers=headers, timeout=30)
    ping = post_ping(stack.webhook_url, webhook_id=3, timeout=30)

    assert (forged.status_code, missing.status_code) == (401, 401)
    assert forged.json()["error"] == "INVALID_SIGNATURE"
    assert ping.status_code == 200
    assert stack.deliveries() == [] and stack.products() == {}

    malformed = e2e.deliver(b'{"id":101,"name":"Sepatu Lari","permalink":"https:\\/\\/',
                            delivery_id="bad-json-1")  # fmt: skip
    assert malformed.status_code == 400 and malformed.json()["error"] == "MALFORMED_PAYLOAD"
    [stored] = stack.deliveries()
    assert (stored.delivery_id, stored.status, stored.product_pk) == ("bad-json-1", "rejected", None)
    assert stack.products() == {}


def test_draft_is_shortened_once_an_update_publishes_it(e2e: E2E) -> None:
    stack = e2e.start()
    draft = e2e.product("Keripik Tempe", status="draft")
    assert e2e.deliver(draft).json()["data"]["status"] == "ignored"
    product = _publish(e2e, 101)  # the admin clicks Publish

    assert e2e.deliver(product, "product.updated").json()["data"]["status"] == "accepted"

    stack.wait_for(lambda: stack.all_in_state(["101"]), what="published product notified")
    assert e2e.links() == [("keripik-tempe", f"{PUBLIC_SHOP}/product/keripik-tempe/")]
    assert len(e2e.write_backs(101)) == 1


def _publish(e2e: E2E, product_id: int) -> dict[str, object]:
    """Publish a product in the shop through its REST API, as the admin screen would."""
    response = requests.put(
        f"{e2e.shop.url}/wp-json/wc/v3/products/{product_id}",
        params={"consumer_key": "ck_admin", "consumer_secret": "cs_admin"},
        data=json.dumps({"status": "publish"}), timeout=30,
    )  # fmt: skip
    response.raise_for_status()
    return dict(response.json())


def test_sync_command_catches_up_products_whose_webhook_was_lost(e2e: E2E) -> None:
    stack = e2e.start()
    lost = [e2e.product("Sambal Roa"), e2e.product("Dodol Garut")]
    e2e.product("Draf Baru", status="draft")

    result = stack.kliqs("woocommerce", "sync")

    assert result.returncode == 0, result.stdout + result.stderr
    assert "Checked 2 published product(s): 2 queued" in result.stdout
    ids = [str(product["id"]) for product in lost]
    stack.wait_for(lambda: stack.all_in_state(ids), what="synced products notified")
    assert [code for code, _ in e2e.links()] == ["dodol-garut", "sambal-roa"]
    assert [len(e2e.write_backs(pid)) for pid in ids] == [1, 1]
    again = stack.kliqs("woocommerce", "sync")  # now they carry their short URL
    assert "0 queued, 2 already shortened in the shop" in again.stdout
