"""Signature check, ping detection and delivery headers of WooCommerce webhooks."""

from __future__ import annotations

from collections.abc import Callable

import pytest

from integrations.woocommerce.errors import MalformedPayload
from integrations.woocommerce.webhooks import (
    WooDelivery,
    is_ping,
    parse_delivery,
    verify_signature,
    webhook_signing_key,
)

Sign = Callable[[bytes, str], str]
BODY = b'{"id":101,"name":"VPS Murah","permalink":"https:\\/\\/toko-contoh.example\\/product\\/vps-murah\\/"}'

HEADERS = {
    "User-Agent": "WooCommerce/9.8.5 Hookshot (WordPress/6.8.1)",
    "Content-Type": "application/json",
    "X-WC-Webhook-Source": "https://toko-contoh.example/",
    "X-WC-Webhook-Topic": "product.created",
    "X-WC-Webhook-Resource": "product",
    "X-WC-Webhook-Event": "created",
    "X-WC-Webhook-Signature": "ignored-here",
    "X-WC-Webhook-ID": "7",
    "X-WC-Webhook-Delivery-ID": "9f1c3a8e2b7d4c6f0a1e5b3d7c9f2a4e",
}


def test_valid_signature_verifies(secret: str, sign: Sign) -> None:
    assert verify_signature(BODY, sign(BODY, secret), secret) is True


def test_signature_header_with_surrounding_whitespace_verifies(secret: str, sign: Sign) -> None:
    assert verify_signature(BODY, f"  {sign(BODY, secret)}\r\n", secret) is True


def test_signature_made_with_another_secret_is_rejected(secret: str, sign: Sign) -> None:
    assert verify_signature(BODY, sign(BODY, "attacker-guess"), secret) is False


def test_signature_of_a_tampered_body_is_rejected(secret: str, sign: Sign) -> None:
    signature = sign(BODY, secret)
    assert verify_signature(BODY.replace(b"101", b"102"), signature, secret) is False


def test_hex_digest_instead_of_base64_is_rejected(secret: str) -> None:
    import hashlib
    import hmac

    hex_signature = hmac.new(secret.encode(), BODY, hashlib.sha256).hexdigest()
    assert verify_signature(BODY, hex_signature, secret) is False


@pytest.mark.parametrize("header", [None, "", "   "])
def test_missing_or_empty_signature_is_rejected(header: str | None, secret: str) -> None:
    assert verify_signature(BODY, header, secret) is False


def test_empty_secret_never_verifies_even_a_matching_signature(sign: Sign) -> None:
    # HMAC with an empty key is computable by anyone; an unconfigured secret must not pass.
    assert verify_signature(BODY, sign(BODY, ""), "") is False


def test_non_ascii_signature_header_is_rejected_without_error(secret: str) -> None:
    assert verify_signature(BODY, "sïgnature==", secret) is False


def test_secret_stored_html_encoded_signs_like_woocommerce(sign: Sign) -> None:
    # WordPress stores a typed "<" as "&lt;"; WooCommerce decodes before signing.
    assert webhook_signing_key("a&lt;b&amp;c&#039;d&quot;e") == b"a<b&c'd\"e"
    assert verify_signature(BODY, sign(BODY, "a<b"), "a&lt;b") is True
    assert verify_signature(BODY, sign(BODY, "a<b"), "a<b") is True


def test_secret_decoding_is_a_single_pass_like_strtr() -> None:
    assert webhook_signing_key("x&amp;lt;y") == b"x&lt;y"
    assert webhook_signing_key("&#0039;&#X27;&#x0026;") == b"'\'&"
    assert webhook_signing_key("plain-secret") == b"plain-secret"


def test_ping_body_without_topic_header_is_a_ping() -> None:
    assert is_ping(b"webhook_id=7", {"User-Agent": "WooCommerce/9.8.5 Hookshot"}) is True
    assert is_ping(b"webhook_id=1234\n", {}) is True


def test_body_with_webhook_id_and_a_topic_header_is_not_a_ping() -> None:
    assert is_ping(b"webhook_id=7", {"x-wc-webhook-topic": "product.created"}) is False


@pytest.mark.parametrize(
    "body", [b"webhook_id=", b"webhook_id=7&x=1", b"webhook_id=abc", b'{"webhook_id":7}', b""]
)
def test_other_bodies_are_not_pings(body: bytes) -> None:
    assert is_ping(body, {}) is False


def test_delivery_headers_are_parsed() -> None:
    delivery = parse_delivery(HEADERS)
    assert delivery == WooDelivery(
        source="https://toko-contoh.example/",
        topic="product.created",
        resource="product",
        event="created",
        webhook_id=7,
        delivery_id="9f1c3a8e2b7d4c6f0a1e5b3d7c9f2a4e",
    )
    assert delivery.is_handled is True


def test_delivery_headers_are_read_case_insensitively() -> None:
    lowered = {name.lower(): value for name, value in HEADERS.items()}
    upper = {name.upper(): value for name, value in HEADERS.items()}
    assert WooDelivery.from_headers(lowered) == parse_delivery(HEADERS)
    assert parse_delivery(upper) == parse_delivery(HEADERS)


def test_resource_and_event_fall_back_to_the_topic() -> None:
    headers = {k: v for k, v in HEADERS.items() if not k.endswith(("Resource", "Event"))}
    headers["X-WC-Webhook-Topic"] = "product.updated"
    delivery = parse_delivery(headers)
    assert (delivery.resource, delivery.event) == ("product", "updated")


@pytest.mark.parametrize("topic", ["product.deleted", "order.created", "action.woocommerce_x"])
def test_other_topics_are_not_handled(topic: str) -> None:
    assert parse_delivery({**HEADERS, "X-WC-Webhook-Topic": topic}).is_handled is False


@pytest.mark.parametrize(
    "missing",
    ["X-WC-Webhook-Topic", "X-WC-Webhook-Source", "X-WC-Webhook-ID", "X-WC-Webhook-Delivery-ID"],
)
def test_missing_required_header_raises_malformed_payload(missing: str) -> None:
    headers = {k: v for k, v in HEADERS.items() if k != missing}
    with pytest.raises(MalformedPayload, match=missing):
        parse_delivery(headers)


@pytest.mark.parametrize("webhook_id", ["seven", "-1", "²", "7.0"])
def test_non_numeric_webhook_id_raises_malformed_payload(webhook_id: str) -> None:
    with pytest.raises(MalformedPayload, match="X-WC-Webhook-ID"):
        parse_delivery({**HEADERS, "X-WC-Webhook-ID": webhook_id})


def test_delivery_is_frozen() -> None:
    delivery = parse_delivery(HEADERS)
    with pytest.raises(AttributeError):
        delivery.topic = "product.deleted"  # type: ignore[misc]
