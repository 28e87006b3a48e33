"""Shopify webhooks: signature check on the raw body, delivery headers, product payloads.

Framework-free: the web layer hands over the raw body bytes and the headers mapping.
Verify first (:func:`verify_hmac`), then read :class:`ShopifyDelivery` and parse.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import hmac
import json
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

HMAC_HEADER = "X-Shopify-Hmac-Sha256"
TOPIC_HEADER = "X-Shopify-Topic"
SHOP_DOMAIN_HEADER = "X-Shopify-Shop-Domain"
API_VERSION_HEADER = "X-Shopify-API-Version"
WEBHOOK_ID_HEADER = "X-Shopify-Webhook-Id"
EVENT_ID_HEADER = "X-Shopify-Event-Id"
TRIGGERED_AT_HEADER = "X-Shopify-Triggered-At"

#: Topics that can make a product need a short link.
PRODUCT_TOPICS = frozenset({"products/create", "products/update"})
PRODUCT_GID_PREFIX = "gid://shopify/Product/"
#: Where the connector writes the short URL (metafield ``kliqs.short_url``, type ``url``).
SHORT_URL_NAMESPACE = "kliqs"
SHORT_URL_KEY = "short_url"


class MalformedPayload(ValueError):
    """A webhook body or its headers are not what Shopify sends for a product event."""


def verify_hmac(raw_body: bytes, header_value: str | None, secrets: Sequence[str]) -> bool:
    """True when ``header_value`` is the base64 HMAC-SHA256 of ``raw_body`` under a secret.

    Several secrets are accepted because, after a client-secret rotation, Shopify keeps
    signing with the old one for up to an hour. Every secret is tried (no early exit) and
    each comparison is constant time. No secret, or no header, means False.
    """
    if not header_value or not secrets:
        return False
    try:
        received = base64.b64decode(header_value.strip(), validate=True)
    except (binascii.Error, ValueError):
        return False
    matched = False
    for secret in secrets:
        if not secret:
            continue
        expected = hmac.new(secret.encode("utf-8"), raw_body, hashlib.sha256).digest()
        matched |= hmac.compare_digest(expected, received)
    return matched


def sign(raw_body: bytes, secret: str) -> str:
    """The ``X-Shopify-Hmac-Sha256`` value Shopify would send for ``raw_body``."""
    digest = hmac.new(secret.encode("utf-8"), raw_body, hashlib.sha256).digest()
    return base64.b64encode(digest).decode("ascii")


def is_product_topic(topic: str | None) -> bool:
    """True for ``products/create`` and ``products/update``."""
    return (topic or "").strip().lower() in PRODUCT_TOPICS


@dataclass(frozen=True)
class ShopifyDelivery:
    """The unsigned delivery headers of one webhook (read only after the HMAC passed)."""

    topic: str
    shop_domain: str
    api_version: str
    webhook_id: str
    event_id: str | None = None
    triggered_at: datetime | None = None

    @classmethod
    def from_headers(cls, headers: Mapping[str, str]) -> ShopifyDelivery:
        """Read the ``X-Shopify-*`` headers (or the newer unprefixed ``shopify-*`` names).

        Topic, shop domain, API version and webhook id are required, as Shopify's own
        library requires them; a missing one raises :class:`MalformedPayload`.
        """
        lowered = {key.lower(): value for key, value in headers.items()}

        def get(name: str) -> str | None:
            key = name.lower()
            value = lowered.get(key) or lowered.get(key.removeprefix("x-"))
            return value.strip() if value and value.strip() else None

        def required(name: str) -> str:
            value = get(name)
            if value is None:
                raise MalformedPayload(f"missing header {name}")
            return value

        triggered = get(TRIGGERED_AT_HEADER)
        return cls(
            topic=required(TOPIC_HEADER).lower(),
            shop_domain=required(SHOP_DOMAIN_HEADER).lower(),
            api_version=required(API_VERSION_HEADER),
            webhook_id=required(WEBHOOK_ID_HEADER),
            event_id=get(EVENT_ID_HEADER),
            triggered_at=_parse_time(triggered, "X-Shopify-Triggered-At") if triggered else None,
        )

    @property
    def is_product_event(self) -> bool:
        """True when this delivery's topic is one the connector acts on."""
        return is_product_topic(self.topic)


@dataclass(frozen=True)
class ShopifyProduct:
    """The fields of the REST Product payload (``products/create|update``) the connector uses."""

    id: int
    admin_graphql_api_id: str
    title: str
    handle: str
    status: str
    published_at: datetime | None
    updated_at: datetime | None
    #: Metafield ``kliqs.short_url`` when the subscription includes it (``metafield_namespaces:
    #: ["kliqs"]``): the connector's own write-back coming back as ``products/update``.
    short_url: str | None = None


def parse_product(raw_body: bytes) -> ShopifyProduct:
    """Parse a ``products/create`` or ``products/update`` body; raise :class:`MalformedPayload`."""
    try:
        data = json.loads(raw_body)
    except (UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise MalformedPayload(f"body is not JSON: {exc}") from exc
    if not isinstance(data, dict):
        raise MalformedPayload("body is not a JSON object")
    product_id = _product_id(data.get("id"))
    gid = data.get("admin_graphql_api_id")
    if gid is None:
        gid = f"{PRODUCT_GID_PREFIX}{product_id}"  # trimmed by include_fields: rebuild it
    elif gid != f"{PRODUCT_GID_PREFIX}{product_id}":
        raise MalformedPayload(f"admin_graphql_api_id {gid!r} does not match id {product_id}")
    status = _string(data, "status").lower()
    if not status:
        raise MalformedPayload("product status is empty")
    return ShopifyProduct(
        id=product_id,
        admin_graphql_api_id=gid,
        title=_string(data, "title"),
        handle=_string(data, "handle"),
        status=status,
        published_at=_optional_time(data, "published_at"),
        updated_at=_optional_time(data, "updated_at"),
        short_url=_short_url_metafield(data.get("metafields")),
    )


def should_shorten(product: ShopifyProduct) -> bool:
    """Only active products get a short link; a draft is shortened once it is activated."""
    return product.status == "active"


def _short_url_metafield(metafields: Any) -> str | None:
    # Absent unless the subscription asked for the namespace; anything odd counts as absent.
    for item in metafields if isinstance(metafields, list) else []:
        if not isinstance(item, Mapping):
            continue
        if (item.get("namespace"), item.get("key")) == (SHORT_URL_NAMESPACE, SHORT_URL_KEY):
            value = item.get("value")
            return value if isinstance(value, str) and value else None
    return None


def _product_id(value: Any) -> int:
    # bool is an int subclass; JSON true must not pass as product 1.
    if isinstance(value, bool) or not isinstance(value, int) or value <= 0:
        raise MalformedPayload(f"product id must be a positive integer, got {value!r}")
    return value


def _string(data: Mapping[str, Any], key: str) -> str:
    value = data.get(key)
    if not isinstance(value, str):
        raise MalformedPayload(f"product {key} must be a string, got {value!r}")
    return value


def _optional_time(data: Mapping[str, Any], key: str) -> datetime | None:
    value = data.get(key)
    if value is None:
        return None
    if not isinstance(value, str):
        raise MalformedPayload(f"product {key} must be a timestamp string, got {value!r}")
    return _parse_time(value, key)


def _parse_time(value: str, what: str) -> datetime:
    try:
        return datetime.fromisoformat(value.replace("Z", "+00:00"))
    except ValueError as exc:
        raise MalformedPayload(f"{what} is not an ISO-8601 timestamp: {value!r}") from exc
