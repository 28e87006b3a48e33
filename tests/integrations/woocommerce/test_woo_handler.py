"""POST /webhooks/woocommerce on the connector web app (in process, SQLite, fake Kliqs client)."""

from __future__ import annotations

import json
from collections.abc import Callable
from typing import Any

import pytest
import responses
from sqlalchemy import select

from integrations.woocommerce.handler import skip_reason
from integrations.woocommerce.models import parse_product, should_shorten
from kliqs_core.connector.models import Product, WebhookDelivery
from tests.integrations.woocommerce.conftest import SHOP_ID
from tests.standins.woocommerce_standin import make_product, wp_json_encode

URL = "/webhooks/woocommerce"
Sign = Callable[[bytes, str], str]


def _headers(body: bytes, signature: str | None, topic: str = "product.created",
             delivery: str = "d-1") -> dict[str, str]:  # fmt: skip
    headers = {
        "Content-Type": "application/json",
        "X-WC-Webhook-Source": "https://toko-contoh.example/",
        "X-WC-Webhook-Topic": topic,
        "X-WC-Webhook-ID": "7",
        "X-WC-Webhook-Delivery-ID": delivery,
    }
    if signature is not None:
        headers["X-WC-Webhook-Signature"] = signature
    return headers


def _rows(rt: Any) -> tuple[list[Product], list[WebhookDelivery]]:
    with rt.database.transaction() as session:
        products = list(session.scalars(select(Product)))
        deliveries = list(session.scalars(select(WebhookDelivery).order_by(WebhookDelivery.id)))
    return products, deliveries


@pytest.fixture
def post(app: Any, sign: Sign, secret: str) -> Callable[..., Any]:
    """POST a body signed with the shop's secret (or the given signature)."""

    def _post(body: bytes, *, topic: str = "product.created", delivery: str = "d-1",
              signature: str | None = "sign") -> Any:  # fmt: skip
        if signature == "sign":
            signature = sign(body, secret)
        return app.post(URL, content=body, headers=_headers(body, signature, topic, delivery))

    return _post


def test_creation_ping_answers_exactly_200_and_stores_nothing(
    app: Any, woo_rt: Any, fixture_bytes: Callable[[str], bytes]
) -> None:
    response = app.post(URL, content=fixture_bytes("ping.txt"),
                        headers={"Content-Type": "application/x-www-form-urlencoded"})  # fmt: skip
    assert response.status_code == 200
    assert _rows(woo_rt) == ([], [])


def test_published_product_signed_over_escaped_slashes_is_stored_and_queued(
    post: Callable[..., Any], woo_rt: Any, fixture_bytes: Callable[[str], bytes]
) -> None:
    body = fixture_bytes("product.created.publish.json")
    assert b"\\/" in body  # WooCommerce's own encoding, signed byte for byte
    response = post(body)
    assert response.status_code == 200
    assert response.json()["data"] == {"status": "accepted", "reason": None, "duplicate": False}
    [product], [delivery] = _rows(woo_rt)
    assert (product.shop, product.product_id, product.title) == (SHOP_ID, "101", "VPS Murah")
    assert product.product_url == "https://toko-contoh.example/product/vps-murah/"
    assert product.data["permalink"] == product.product_url and product.data["status"] == "publish"
    assert (delivery.delivery_id, delivery.status, delivery.body) == ("d-1", "accepted", body)
    assert woo_rt.enqueued == [product.id]  # handed to the publisher thread (here: the test's list)


def test_reserialised_body_does_not_verify(
    app: Any, woo_rt: Any, sign: Sign, secret: str, fixture_bytes: Callable[[str], bytes]
) -> None:
    original = fixture_bytes("product.created.publish.json")
    reencoded = json.dumps(json.loads(original), separators=(",", ":")).encode()
    response = app.post(URL, content=reencoded, headers=_headers(reencoded, sign(original, secret)))
    assert response.status_code == 401
    assert _rows(woo_rt) == ([], [])


@pytest.mark.parametrize("signature", [None, "", "Zm9yZ2Vk", "sign-with-other-secret"])
def test_missing_or_forged_signature_answers_401_and_stores_nothing(
    post: Callable[..., Any], woo_rt: Any, sign: Sign, signature: str | None,
    fixture_bytes: Callable[[str], bytes],
) -> None:  # fmt: skip
    body = fixture_bytes("product.created.publish.json")
    if signature == "sign-with-other-secret":
        signature = sign(body, "another-shop-secret")
    response = post(body, signature=signature)
    assert response.status_code == 401
    assert response.json()["error"] == "INVALID_SIGNATURE"
    assert _rows(woo_rt) == ([], []) and woo_rt.enqueued == []


def test_malformed_json_with_valid_signature_is_rejected_with_400(
    post: Callable[..., Any], woo_rt: Any
) -> None:
    body = b'{"id":101,"name":"VPS Murah",'
    response = post(body, delivery="d-bad")
    assert response.status_code == 400
    assert response.json()["error"] == "MALFORMED_PAYLOAD"
    products, [delivery] = _rows(woo_rt)
    assert products == [] and woo_rt.enqueued == []
    assert (delivery.delivery_id, delivery.status, delivery.body) == ("d-bad", "rejected", body)
    assert "not valid JSON" in (delivery.reason or "")


def test_signed_delivery_without_its_headers_is_rejected(
    app: Any, woo_rt: Any, sign: Sign, secret: str, fixture_bytes: Callable[[str], bytes]
) -> None:
    body = fixture_bytes("product.created.publish.json")
    headers = {"X-WC-Webhook-Topic": "product.created", "X-WC-Webhook-Signature": sign(body, secret)}
    response = app.post(URL, content=body, headers=headers)
    assert response.status_code == 400
    [], [delivery] = _rows(woo_rt)
    assert delivery.status == "rejected" and "missing webhook header" in (delivery.reason or "")


@pytest.mark.parametrize("topic", ["product.deleted", "product.restored", "order.created"])
def test_other_topics_answer_200_and_are_ignored(
    post: Callable[..., Any], woo_rt: Any, topic: str
) -> None:
    response = post(b'{"id":101}', topic=topic)
    assert response.status_code == 200
    products, [delivery] = _rows(woo_rt)
    assert products == [] and woo_rt.enqueued == []
    assert delivery.status == "ignored" and topic in (delivery.reason or "")


def test_draft_is_skipped_until_an_update_publishes_it(
    post: Callable[..., Any], woo_rt: Any, fixture_bytes: Callable[[str], bytes]
) -> None:
    draft = fixture_bytes("product.created.draft.json")
    assert post(draft, delivery="d-draft").json()["data"]["status"] == "ignored"
    assert woo_rt.enqueued == [] and _rows(woo_rt)[0] == []

    published = json.loads(draft)
    published.update(status="publish", permalink="https://toko-contoh.example/product/kopi-gayo/")
    response = post(wp_json_encode(published), topic="product.updated", delivery="d-publish")
    assert response.json()["data"]["status"] == "accepted"
    [product], deliveries = _rows(woo_rt)
    assert product.product_id == str(published["id"]) and woo_rt.enqueued == [product.id]
    assert [d.status for d in deliveries] == ["ignored", "accepted"]


def test_echo_of_our_write_back_and_a_repeated_delivery_queue_nothing(
    post: Callable[..., Any], woo_rt: Any, fixture_bytes: Callable[[str], bytes]
) -> None:
    post(fixture_bytes("product.created.publish.json"), delivery="d-1")
    again = post(fixture_bytes("product.created.publish.json"), delivery="d-1")
    assert again.status_code == 200 and again.json()["data"]["duplicate"] is True
    echo = post(fixture_bytes("product.updated.echo.json"), topic="product.updated", delivery="d-2")
    assert echo.status_code == 200 and "echo" in echo.json()["data"]["reason"]
    products, deliveries = _rows(woo_rt)
    assert len(products) == 1 and len(woo_rt.enqueued) == 1
    assert [(d.delivery_id, d.status) for d in deliveries] == [("d-1", "accepted"), ("d-2", "ignored")]


def test_update_of_a_waiting_product_refreshes_it_without_queueing_twice(
    post: Callable[..., Any], woo_rt: Any
) -> None:
    product = make_product(205, shop_url="https://toko-contoh.example", name="Teh Tarik")
    post(wp_json_encode(product), delivery="d-1")
    product["name"] = "Teh Tarik Dingin"
    response = post(wp_json_encode(product), topic="product.updated", delivery="d-2")
    assert response.json()["data"] == {"status": "accepted", "reason": "pending", "duplicate": False}
    [stored], _ = _rows(woo_rt)
    assert stored.title == "Teh Tarik Dingin" and woo_rt.enqueued == [stored.id]


@pytest.mark.parametrize(
    "fields",
    [{"status": "draft"}, {"status": "pending"}, {"status": "private"}, {"type": "variation"},
     {"meta_data": [{"id": 1, "key": "kliqs_short_url", "value": "https://kliqs.me/x"}]},
     {}],
)  # fmt: skip
def test_skip_reason_agrees_with_should_shorten(fields: dict[str, Any]) -> None:
    body = wp_json_encode(make_product(9, shop_url="https://toko.example", **fields))
    product = parse_product(body)
    assert (skip_reason(product) is None) is should_shorten(product)


@responses.activate
def test_accepted_webhook_runs_through_the_pipeline_to_one_put(
    post: Callable[..., Any], woo_rt: Any, fixture_bytes: Callable[[str], bytes],
    rest_fixture: Callable[[str], str],
) -> None:  # fmt: skip
    responses._add_from_file(file_path=rest_fixture("put_product.yaml"))
    post(fixture_bytes("product.created.publish.json"))
    [outcome] = woo_rt.run_queued()
    assert outcome.kind == "done"
    [call] = woo_rt.client.calls
    assert (call["url"], call["slug"], call["title"]) == (
        "https://toko-contoh.example/product/vps-murah/", "vps-murah", "VPS Murah",
    )
    [put] = responses.calls
    assert json.loads(put.request.body) == {
        "meta_data": [{"key": "kliqs_short_url", "value": "https://kliqs.me/vps-murah"}]
    }
    [product], [delivery] = _rows(woo_rt)
    assert (product.state, product.short_url) == ("notified", "https://kliqs.me/vps-murah")
    assert delivery.status == "processed"


def test_html_escaped_title_becomes_plain_text(post: Callable[..., Any], woo_rt: Any) -> None:
    product = make_product(301, shop_url="https://toko-contoh.example", name="Kopi &amp; Teh")
    post(wp_json_encode(product))
    [stored], _ = _rows(woo_rt)
    assert stored.title == "Kopi & Teh"
