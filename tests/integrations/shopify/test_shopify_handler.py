"""``POST /webhooks/shopify`` on the connector app: verify, de-duplicate, store, answer at once."""

from __future__ import annotations

import json

import pytest

from integrations.shopify.handler import delivery_key
from integrations.shopify.plugin import load_settings
from integrations.shopify.webhooks import ShopifyDelivery
from kliqs_core.connector import ConnectorConfigError
from kliqs_core.connector.testing import TestRuntime
from tests.integrations.shopify.shopify_testing import (
    NEW_SECRET,
    OLD_SECRET,
    SHOP,
    Deliver,
    TimedStandin,
    active_product,
    inbox,
    stored,
)
from tests.standins.shopify_standin import webhook_headers


def test_signed_create_of_active_product_is_stored_and_queued_without_calling_shopify(
    rt: TestRuntime, deliver: Deliver, standin: TimedStandin
) -> None:
    response = deliver(active_product(1001, "VPS Murah"), webhook_id="w-1", event_id="e-1")

    assert response.status_code == 200
    assert response.json()["data"] == {"status": "accepted", "reason": None}
    product = stored(1001)
    assert product.state == "received" and product.title == "VPS Murah"
    assert product.data == {"gid": "gid://shopify/Product/1001", "handle": "vps-murah"}
    assert rt.enqueued == [product.id]
    assert inbox(rt.database) == [("event:e-1|webhook:w-1", "products/create", "accepted", None)]
    # The answer needs no Admin API call: nothing can make it late for Shopify's 5 s.
    assert standin.requests == []


@pytest.mark.parametrize("secret", [NEW_SECRET, OLD_SECRET])
def test_both_secrets_of_a_rotation_are_accepted(
    rt: TestRuntime, deliver: Deliver, secret: str
) -> None:
    assert deliver(active_product(1002, "Kaos Polos"), secret=secret).status_code == 200
    assert stored(1002).state == "received"


@pytest.mark.parametrize("case", ["wrong secret", "missing header", "tampered body", "garbage"])
def test_bad_signature_is_401_and_nothing_is_stored(
    rt: TestRuntime, deliver: Deliver, case: str
) -> None:
    body = json.dumps(active_product(1003, "Sepatu Lari")).encode()
    headers = webhook_headers(body, secret="shpss_someone_else" if case == "wrong secret"
                              else NEW_SECRET, shop_domain=SHOP)
    if case == "missing header":
        del headers["X-Shopify-Hmac-Sha256"]
    elif case == "tampered body":
        body = body.replace(b"Sepatu Lari", b"Sepatu Palsu")
    elif case == "garbage":
        headers["X-Shopify-Hmac-Sha256"] = "not base64!"

    response = deliver.web.post("/webhooks/shopify", content=body, headers=headers)

    assert response.status_code == 401
    assert response.json() == {"success": False, "error": "INVALID_SIGNATURE",
                               "message": "X-Shopify-Hmac-Sha256 does not match the body."}
    assert inbox(rt.database) == [] and rt.enqueued == []


def test_retry_of_a_delivery_is_answered_but_changes_nothing(
    rt: TestRuntime, deliver: Deliver
) -> None:
    product = active_product(1004, "Teh Tarik")
    first = deliver(product, webhook_id="w-4", event_id="e-4")
    again = deliver(product, webhook_id="w-4", event_id="e-4")

    assert first.status_code == again.status_code == 200
    assert again.json()["data"] == {"status": "duplicate", "reason": "duplicate_delivery"}
    assert len(inbox(rt.database)) == 1 and rt.enqueued == [stored(1004).id]


def test_one_event_sent_to_two_subscriptions_is_taken_once(
    rt: TestRuntime, deliver: Deliver
) -> None:
    product = active_product(1005, "Gula Aren")
    deliver(product, webhook_id="w-5a", event_id="e-5")
    second = deliver(product, webhook_id="w-5b", event_id="e-5")  # same event id

    assert second.json()["data"]["status"] == "duplicate"
    assert [row[0] for row in inbox(rt.database)] == ["event:e-5|webhook:w-5a"]


def test_a_known_webhook_id_is_a_duplicate_even_with_another_event_id(
    rt: TestRuntime, deliver: Deliver
) -> None:
    product = active_product(1006, "Kopi Gayo")
    deliver(product, webhook_id="w-6", event_id="e-6")
    second = deliver(product, webhook_id="w-6", event_id="e-6-other")

    assert second.json()["data"]["status"] == "duplicate" and len(inbox(rt.database)) == 1


def test_ids_with_like_wildcards_do_not_match_other_deliveries(
    rt: TestRuntime, deliver: Deliver
) -> None:
    deliver(active_product(1007, "Madu Hutan"), webhook_id="wx7", event_id="ex")
    # Unescaped, "e%" and "w_7" would match "ex" and "wx7" in a LIKE pattern.
    other = deliver(active_product(1008, "Madu Lebah"), webhook_id="w_7", event_id="e%")

    assert other.json()["data"]["status"] == "accepted"


def test_create_then_update_of_one_product_queue_it_once(
    rt: TestRuntime, deliver: Deliver
) -> None:
    deliver(active_product(1009, "Sambal Bawang"), topic="products/create")
    update = deliver(active_product(1009, "Sambal Bawang Pedas"), topic="products/update")

    assert update.json()["data"] == {"status": "accepted", "reason": "pending"}
    assert rt.enqueued == [stored(1009).id]
    assert stored(1009).title == "Sambal Bawang Pedas"  # the freshest title is kept


def test_draft_is_stored_ignored_until_it_is_activated(rt: TestRuntime, deliver: Deliver) -> None:
    draft = deliver(active_product(1010, "Keripik", status="draft"), topic="products/create")

    assert draft.json()["data"] == {
        "status": "ignored", "reason": "status draft: only active products are shortened"}
    assert rt.enqueued == []

    deliver(active_product(1010, "Keripik"), topic="products/update")
    assert rt.enqueued == [stored(1010).id]


def test_echo_carrying_our_metafield_is_ignored(rt: TestRuntime, deliver: Deliver) -> None:
    echo = active_product(1011, "Rendang", metafields=[
        {"namespace": "kliqs", "key": "short_url", "value": "https://kliqs.me/rendang",
         "type": "url"}])

    response = deliver(echo, topic="products/update")

    assert response.json()["data"] == {
        "status": "ignored", "reason": "echo: the payload carries kliqs.short_url already"}
    assert rt.enqueued == []


def test_update_after_the_write_back_is_ignored_as_echo(
    rt: TestRuntime, deliver: Deliver, standin: TimedStandin
) -> None:
    standin.add_product(1012, "Batik Tulis", handle="batik-tulis")
    deliver(active_product(1012, "Batik Tulis"))
    rt.run_queued()
    assert stored(1012).state == "notified"

    echo = deliver(active_product(1012, "Batik Tulis"), topic="products/update")

    assert echo.json()["data"] == {
        "status": "ignored", "reason": "echo: already shortened as https://kliqs.test/batik-tulis"}
    assert rt.enqueued == [] and len(standin.mutations) == 1


@pytest.mark.parametrize(("options", "reason"), [
    ({"topic": "orders/create"}, "topic orders/create not handled"),
    ({"shop": "other-shop.myshopify.com"}, "delivery for another shop (other-shop.myshopify.com)"),
])
def test_other_topics_and_shops_are_stored_as_ignored(
    rt: TestRuntime, deliver: Deliver, options: dict[str, str], reason: str
) -> None:
    response = deliver(active_product(1013, "Tempe"), **options)

    assert response.status_code == 200
    assert response.json()["data"] == {"status": "ignored", "reason": reason}
    assert rt.enqueued == []


def test_signed_but_malformed_body_is_rejected_with_200(rt: TestRuntime, deliver: Deliver) -> None:
    response = deliver(b'{"id": "not a number", "status": "active"}')

    assert response.status_code == 200  # a non-2xx would be retried for hours, then dropped
    data = response.json()["data"]
    assert data["status"] == "rejected" and "product id must be a positive integer" in data["reason"]
    assert rt.enqueued == []


def test_signed_delivery_without_topic_header_is_rejected(
    rt: TestRuntime, deliver: Deliver
) -> None:
    body = json.dumps(active_product(1014, "Oncom")).encode()
    headers = webhook_headers(body, secret=NEW_SECRET, shop_domain=SHOP)
    del headers["X-Shopify-Topic"]

    response = deliver.web.post("/webhooks/shopify", content=body, headers=headers)

    assert response.json()["data"] == {
        "status": "rejected", "reason": "missing header X-Shopify-Topic"}
    assert inbox(rt.database) == [(None, "", "rejected", "missing header X-Shopify-Topic")]


def test_delivery_key_holds_both_ids() -> None:
    delivery = ShopifyDelivery("products/create", SHOP, "2026-07", "w-9", "e-9")
    assert delivery_key(delivery) == "event:e-9|webhook:w-9"
    assert delivery_key(ShopifyDelivery("products/create", SHOP, "2026-07", "w-9")) == (
        "event:|webhook:w-9")


def test_setup_without_required_settings_names_each_one(monkeypatch: pytest.MonkeyPatch) -> None:
    for name in ("SHOPIFY_SHOP", "SHOPIFY_ACCESS_TOKEN", "SHOPIFY_WEBHOOK_SECRETS"):
        monkeypatch.setenv(name, " ")
    monkeypatch.setenv("SHOPIFY_WEBHOOK_SECRETS", " , ")

    with pytest.raises(ConnectorConfigError) as caught:
        load_settings()

    assert str(caught.value) == (
        "shopify: missing setting(s): SHOPIFY_SHOP, SHOPIFY_ACCESS_TOKEN, SHOPIFY_WEBHOOK_SECRETS")


def test_shop_setting_is_normalised_to_the_header_form(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("SHOPIFY_SHOP", "https://Kliqs-Demo.myshopify.com/")
    monkeypatch.setenv("SHOPIFY_ACCESS_TOKEN", "shpat_x")
    monkeypatch.setenv("SHOPIFY_WEBHOOK_SECRETS", "s1")
    assert load_settings().shop == SHOP
