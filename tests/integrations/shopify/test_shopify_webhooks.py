"""Shopify webhooks: HMAC on raw bytes, delivery headers, REST product payload parsing."""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
from datetime import datetime, timedelta, timezone
from pathlib import Path

import pytest

from integrations.shopify.webhooks import (
    MalformedPayload,
    ShopifyDelivery,
    ShopifyProduct,
    is_product_topic,
    parse_product,
    should_shorten,
    sign,
    verify_hmac,
)

FIXTURES = Path(__file__).parent / "fixtures"
SECRET = "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"
OLD_SECRET = "shpss_old_0000000000000000000000000"


def fixture(name: str) -> bytes:
    return (FIXTURES / name).read_bytes()


def shopify_signature(body: bytes, secret: str) -> str:
    """Computed independently of the module under test."""
    return base64.b64encode(hmac.new(secret.encode(), body, hashlib.sha256).digest()).decode()


# -- HMAC -------------------------------------------------------------------------------------
def test_valid_signature_is_accepted() -> None:
    body = fixture("products_create.json")
    assert verify_hmac(body, shopify_signature(body, SECRET), [SECRET])


def test_sign_matches_independent_computation() -> None:
    body = fixture("products_create.json")
    assert sign(body, SECRET) == shopify_signature(body, SECRET)


def test_forged_signature_is_refused() -> None:
    body = fixture("products_create.json")
    assert not verify_hmac(body, shopify_signature(body, "not-the-secret"), [SECRET])


def test_tampered_body_is_refused() -> None:
    body = fixture("products_create.json")
    header = shopify_signature(body, SECRET)
    assert not verify_hmac(body.replace(b"VPS Murah", b"VPS Gratis"), header, [SECRET])


def test_signature_is_checked_on_raw_bytes_not_reserialised_json() -> None:
    body = fixture("products_create.json")
    header = shopify_signature(body, SECRET)
    same_json = json.dumps(json.loads(body)).encode()
    assert same_json != body
    assert not verify_hmac(same_json, header, [SECRET])


@pytest.mark.parametrize("header", [None, "", "   "])
def test_missing_signature_is_refused(header: str | None) -> None:
    assert not verify_hmac(b"{}", header, [SECRET])


def test_garbage_signature_is_refused() -> None:
    assert not verify_hmac(b"{}", "not base64 at all!!", [SECRET])
    assert not verify_hmac(b"{}", "\u00e9\u00e9", [SECRET])


def test_no_configured_secret_refuses_everything() -> None:
    body = b"{}"
    assert not verify_hmac(body, shopify_signature(body, ""), [])
    assert not verify_hmac(body, shopify_signature(body, ""), [""])


def test_rotation_accepts_old_and_new_secret() -> None:
    body = fixture("products_update.json")
    secrets = [SECRET, OLD_SECRET]
    assert verify_hmac(body, shopify_signature(body, SECRET), secrets)
    assert verify_hmac(body, shopify_signature(body, OLD_SECRET), secrets)
    assert not verify_hmac(body, shopify_signature(body, "third"), secrets)


# -- delivery headers -------------------------------------------------------------------------
HEADERS = {
    "X-Shopify-Hmac-Sha256": "ignored-here",
    "X-Shopify-Topic": "products/create",
    "X-Shopify-Shop-Domain": "Kliqs-Demo.myshopify.com",
    "X-Shopify-API-Version": "2026-07",
    "X-Shopify-Webhook-Id": "b54557e4-bdd9-4b37-8a5f-bf7d70bcd043",
    "X-Shopify-Event-Id": "98880550-7158-44d4-b7cd-2c97c8a091b5",
    "X-Shopify-Triggered-At": "2026-07-14T03:21:07.515301Z",
}


def test_delivery_reads_every_header() -> None:
    delivery = ShopifyDelivery.from_headers(HEADERS)
    assert delivery == ShopifyDelivery(
        topic="products/create",
        shop_domain="kliqs-demo.myshopify.com",
        api_version="2026-07",
        webhook_id="b54557e4-bdd9-4b37-8a5f-bf7d70bcd043",
        event_id="98880550-7158-44d4-b7cd-2c97c8a091b5",
        triggered_at=datetime(2026, 7, 14, 3, 21, 7, 515301, tzinfo=timezone.utc),
    )
    assert delivery.is_product_event


def test_delivery_headers_are_case_insensitive() -> None:
    delivery = ShopifyDelivery.from_headers({k.lower(): v for k, v in HEADERS.items()})
    assert delivery.webhook_id == HEADERS["X-Shopify-Webhook-Id"]


def test_delivery_accepts_unprefixed_events_header_names() -> None:
    unprefixed = {k.removeprefix("X-").lower(): v for k, v in HEADERS.items()}
    assert ShopifyDelivery.from_headers(unprefixed).event_id == HEADERS["X-Shopify-Event-Id"]


@pytest.mark.parametrize(
    "missing",
    ["X-Shopify-Topic", "X-Shopify-Shop-Domain", "X-Shopify-API-Version", "X-Shopify-Webhook-Id"],
)
def test_delivery_without_required_header_is_malformed(missing: str) -> None:
    headers = {k: v for k, v in HEADERS.items() if k != missing}
    with pytest.raises(MalformedPayload, match=missing):
        ShopifyDelivery.from_headers(headers)


def test_optional_headers_may_be_absent() -> None:
    headers = {k: v for k, v in HEADERS.items()
               if k not in ("X-Shopify-Event-Id", "X-Shopify-Triggered-At")}
    delivery = ShopifyDelivery.from_headers(headers)
    assert delivery.event_id is None and delivery.triggered_at is None


def test_bad_triggered_at_is_malformed() -> None:
    with pytest.raises(MalformedPayload, match="Triggered-At"):
        ShopifyDelivery.from_headers({**HEADERS, "X-Shopify-Triggered-At": "yesterday"})


@pytest.mark.parametrize(
    ("topic", "wanted"),
    [("products/create", True), ("products/update", True), ("PRODUCTS/UPDATE", True),
     ("products/delete", False), ("orders/create", False), (None, False)],
)
def test_topic_filter(topic: str | None, wanted: bool) -> None:
    assert is_product_topic(topic) is wanted


# -- payloads ---------------------------------------------------------------------------------
def test_parse_products_create_fixture() -> None:
    product = parse_product(fixture("products_create.json"))
    wib = timezone(timedelta(hours=7))
    assert product == ShopifyProduct(
        id=9554194432293,
        admin_graphql_api_id="gid://shopify/Product/9554194432293",
        title="VPS Murah",
        handle="vps-murah",
        status="active",
        published_at=datetime(2026, 7, 14, 10, 21, 7, tzinfo=wib),
        updated_at=datetime(2026, 7, 14, 10, 21, 8, tzinfo=wib),
    )
    assert should_shorten(product)


def test_parse_products_update_fixture_draft_is_not_shortened() -> None:
    product = parse_product(fixture("products_update.json"))
    assert product.status == "draft"
    assert product.published_at is None
    assert not should_shorten(product)


def test_parsed_product_is_frozen() -> None:
    product = parse_product(fixture("products_create.json"))
    with pytest.raises(AttributeError):
        product.status = "draft"  # type: ignore[misc]


@pytest.mark.parametrize("status", ["draft", "archived", "unlisted"])
def test_only_active_is_shortened(status: str) -> None:
    data = json.loads(fixture("products_create.json"))
    data["status"] = status
    assert not should_shorten(parse_product(json.dumps(data).encode()))


def test_trimmed_payload_rebuilds_graphql_id() -> None:
    body = json.dumps({"id": 42, "title": "T", "handle": "t", "status": "ACTIVE"}).encode()
    product = parse_product(body)
    assert product.admin_graphql_api_id == "gid://shopify/Product/42"
    assert product.status == "active"


@pytest.mark.parametrize(
    ("body", "reason"),
    [
        (b"not json", "not JSON"),
        (b"\xff\xfe", "not JSON"),
        (b"[1, 2]", "not a JSON object"),
        (b'{"title": "T", "handle": "t", "status": "active"}', "id must be a positive integer"),
        (b'{"id": "42", "title": "T", "handle": "t", "status": "active"}', "positive integer"),
        (b'{"id": true, "title": "T", "handle": "t", "status": "active"}', "positive integer"),
        (b'{"id": 42, "handle": "t", "status": "active"}', "title must be a string"),
        (b'{"id": 42, "title": "T", "handle": "t"}', "status must be a string"),
        (b'{"id": 42, "title": "T", "handle": "t", "status": ""}', "status is empty"),
        (b'{"id": 42, "admin_graphql_api_id": "gid://shopify/Product/43", "title": "T",'
         b' "handle": "t", "status": "active"}', "does not match id"),
        (b'{"id": 42, "title": "T", "handle": "t", "status": "active",'
         b' "updated_at": "kemarin"}', "not an ISO-8601"),
        (b'{"id": 42, "title": "T", "handle": "t", "status": "active",'
         b' "published_at": 1720000000}', "timestamp string"),
    ],
)
def test_malformed_payloads_raise_typed_error(body: bytes, reason: str) -> None:
    with pytest.raises(MalformedPayload, match=reason):
        parse_product(body)
