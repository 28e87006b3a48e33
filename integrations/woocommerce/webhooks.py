"""WooCommerce webhook deliveries: signature check on raw bytes, ping detection, header parsing.

Framework-free: every function takes the raw body bytes and a headers mapping (any case), so the
connector's HTTP layer only has to hand them over. Verify first, parse after.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import re
from collections.abc import Mapping
from dataclasses import dataclass

from integrations.woocommerce.errors import MalformedPayload
from integrations.woocommerce.models import (
    SHORT_URL_META_KEY,
    WooProduct,
    is_our_echo,
    parse_product,
    product_from_dict,
    should_shorten,
)

__all__ = [
    "HANDLED_TOPICS",
    "SHORT_URL_META_KEY",
    "SIGNATURE_HEADER",
    "TOPIC_HEADER",
    "MalformedPayload",
    "WooDelivery",
    "WooProduct",
    "header",
    "is_our_echo",
    "is_ping",
    "parse_delivery",
    "parse_product",
    "product_from_dict",
    "should_shorten",
    "verify_signature",
    "webhook_signing_key",
]

SIGNATURE_HEADER = "X-WC-Webhook-Signature"
TOPIC_HEADER = "X-WC-Webhook-Topic"
HANDLED_TOPICS = frozenset({"product.created", "product.updated"})

_PING_BODY = re.compile(rb"webhook_id=\d+")

# wp_specialchars_decode( $secret, ENT_QUOTES ): numeric forms are first normalised (leading
# zeros, hex case), then one strtr() pass over this table, so "&amp;lt;" becomes "&lt;" only.
_NUMERIC_FORMS = (
    (re.compile(r"&#0*39;"), "&#039;"),
    (re.compile(r"&#x0*27;", re.IGNORECASE), "&#x27;"),
    (re.compile(r"&#0*34;"), "&#034;"),
    (re.compile(r"&#x0*22;", re.IGNORECASE), "&#x22;"),
    (re.compile(r"&#0*60;"), "&#060;"),
    (re.compile(r"&#0*62;"), "&#062;"),
    (re.compile(r"&#0*38;"), "&#038;"),
    (re.compile(r"&#x0*26;", re.IGNORECASE), "&#x26;"),
)
_ENTITIES = {
    "&#039;": "'", "&#x27;": "'",
    "&quot;": '"', "&#034;": '"', "&#x22;": '"',
    "&lt;": "<", "&#060;": "<", "&gt;": ">", "&#062;": ">",
    "&amp;": "&", "&#038;": "&", "&#x26;": "&",
}  # fmt: skip
_ENTITY_RE = re.compile("|".join(re.escape(k) for k in sorted(_ENTITIES, key=len, reverse=True)))


def webhook_signing_key(secret: str) -> bytes:
    """The HMAC key WooCommerce signs with: the stored secret through wp_specialchars_decode().

    WordPress stores a secret typed with ``<`` as ``&lt;`` (sanitize_text_field) and decodes it
    again before signing, so either form of the secret configured here yields the same key.
    """
    if "&" in secret:
        for pattern, replacement in _NUMERIC_FORMS:
            secret = pattern.sub(replacement, secret)
        secret = _ENTITY_RE.sub(lambda match: _ENTITIES[match.group(0)], secret)
    return secret.encode("utf-8")


def verify_signature(raw_body: bytes, signature_header: str | None, secret: str) -> bool:
    """True if `signature_header` is base64(HMAC-SHA256(raw_body)) under the webhook secret.

    Runs on the exact bytes received, before any JSON parsing (WooCommerce signs its own
    `wp_json_encode` output, which escapes ``/`` as ``\\/``), and compares in constant time.
    An empty secret or a missing/empty header never verifies.
    """
    if not secret or not signature_header or not signature_header.strip():
        return False
    digest = hmac.new(webhook_signing_key(secret), raw_body, hashlib.sha256).digest()
    expected = base64.b64encode(digest)
    return hmac.compare_digest(expected, signature_header.strip().encode("utf-8"))


def is_ping(raw_body: bytes, headers: Mapping[str, str]) -> bool:
    """True for the ping WooCommerce sends when a webhook is created or activated.

    The ping is the bare body ``webhook_id=<id>`` with no X-WC-Webhook-* headers and no
    signature; it must be answered with exactly 200.
    """
    if header(headers, TOPIC_HEADER) is not None:
        return False
    return _PING_BODY.fullmatch(raw_body.strip()) is not None


@dataclass(frozen=True)
class WooDelivery:
    """The X-WC-Webhook-* headers of one delivery; `source` is the shop's home URL."""

    source: str
    topic: str
    resource: str
    event: str
    webhook_id: int
    delivery_id: str

    @property
    def is_handled(self) -> bool:
        """True for the topics the connector acts on (product.created, product.updated)."""
        return self.topic in HANDLED_TOPICS

    @classmethod
    def from_headers(cls, headers: Mapping[str, str]) -> WooDelivery:
        """Same as `parse_delivery`."""
        return parse_delivery(headers)


def parse_delivery(headers: Mapping[str, str]) -> WooDelivery:
    """Read a delivery's X-WC-Webhook-* headers (case-insensitively).

    Raises `MalformedPayload` if Source, Topic, ID or Delivery-ID is missing or ID is not a
    number. Resource and Event default to the two halves of the topic.
    """
    topic = _required(headers, TOPIC_HEADER)
    resource, _, event = topic.partition(".")
    webhook_id = _required(headers, "X-WC-Webhook-ID")
    if not re.fullmatch(r"[0-9]+", webhook_id):
        raise MalformedPayload(f"X-WC-Webhook-ID must be a number, got {webhook_id!r}")
    return WooDelivery(
        source=_required(headers, "X-WC-Webhook-Source"),
        topic=topic,
        resource=header(headers, "X-WC-Webhook-Resource") or resource,
        event=header(headers, "X-WC-Webhook-Event") or event,
        webhook_id=int(webhook_id),
        delivery_id=_required(headers, "X-WC-Webhook-Delivery-ID"),
    )


def header(headers: Mapping[str, str], name: str) -> str | None:
    """A header stripped (None when absent or blank), looked up ignoring case: works for plain
    dicts as well as framework header objects."""
    value = headers.get(name)  # framework headers ignore case already: no scan, no decoding
    if value is None:
        wanted = name.lower()
        value = next((v for k, v in headers.items() if k.lower() == wanted), None)
    return (value.strip() or None) if value is not None else None


def _required(headers: Mapping[str, str], name: str) -> str:
    value = header(headers, name)
    if value is None:
        raise MalformedPayload(f"missing webhook header {name}")
    return value
