"""``POST /webhooks/shopify``: verify, de-duplicate, store, answer 200 well inside Shopify's 5 s.

The handler makes no call to Shopify: it checks the HMAC on the raw bytes, reads the headers
and the product, and stores the delivery with the runtime's inbox in one transaction. The
worker does the rest. In order:

1. ``X-Shopify-Hmac-Sha256`` against every configured secret (a rotation lists two): 401 and
   nothing stored when none matches.
2. De-duplication: a delivery whose ``X-Shopify-Event-Id`` *or* ``X-Shopify-Webhook-Id`` was
   stored before answers 200 and changes nothing. Shopify retries a delivery with both ids
   unchanged, and sends one event to each subscription with the same event id; the inbox key
   holds both (``event:<id>|webhook:<id>``). Then the runtime de-duplicates per product.
3. What is stored but not worked on (``ignored``, with the reason): another shop's delivery,
   other topics, products that are not ``active``, and the echo of the connector's own
   write-back (the payload carries ``kliqs.short_url``, or the product was shortened already).
4. A verified body that cannot be used is stored ``rejected`` and still answered 200: a
   non-2xx makes Shopify retry it for hours and then drop the subscription.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from typing import Any

from sqlalchemy import or_, select
from starlette.responses import Response

from kliqs_core.connector import (
    Accepted,
    ProductInput,
    ProductRecord,
    WebhookRequest,
    accept_webhook,
    error_response,
    find_product,
    ok_response,
    reject_webhook,
)
from kliqs_core.connector import runtime
from kliqs_core.connector.models import WebhookDelivery

from .platform import PLATFORM
from .webhooks import (
    HMAC_HEADER,
    TOPIC_HEADER,
    MalformedPayload,
    ShopifyDelivery,
    ShopifyProduct,
    parse_product,
    should_shorten,
    verify_hmac,
)

__all__ = ["ShopifyWebhookHandler", "delivery_key", "ignore_reason", "product_input"]

log = logging.getLogger(__name__)


def delivery_key(delivery: ShopifyDelivery) -> str:
    """The inbox key of a delivery: both ids, so either one finds it again."""
    return f"event:{delivery.event_id or ''}|webhook:{delivery.webhook_id}"


def ignore_reason(product: ShopifyProduct, stored: ProductRecord | None) -> str | None:
    """Why this product event needs no work, or ``None`` when it does."""
    if not should_shorten(product):
        return f"status {product.status}: only active products are shortened"
    if product.short_url:
        return "echo: the payload carries kliqs.short_url already"
    if stored is not None and stored.short_url:
        return f"echo: already shortened as {stored.short_url}"
    return None


def product_input(product: ShopifyProduct) -> ProductInput:
    """What the worker needs later: the ids and the handle (the URL comes from the Admin API)."""
    return ProductInput(
        product_id=str(product.id),
        title=product.title,
        data={"gid": product.admin_graphql_api_id, "handle": product.handle},
    )


@dataclass(frozen=True)
class ShopifyWebhookHandler:
    """The webhook handler of one shop, with the secrets its deliveries may be signed with."""

    shop: str
    secrets: tuple[str, ...]

    def __call__(self, request: WebhookRequest) -> Response:
        """Answer one delivery (runs in a thread: it writes the database)."""
        if not verify_hmac(request.body, request.headers.get(HMAC_HEADER), self.secrets):
            log.warning("shopify webhook with a bad or missing signature from %s",
                        request.client_host)
            return error_response(
                401, "INVALID_SIGNATURE", "X-Shopify-Hmac-Sha256 does not match the body."
            )
        try:
            delivery = ShopifyDelivery.from_headers(request.headers)
        except MalformedPayload as exc:
            topic = request.headers.get(TOPIC_HEADER) or ""
            return _answer(self._reject(None, topic, request.body, str(exc)))
        if _seen_before(self.shop, delivery):
            return ok_response({"status": "duplicate", "reason": "duplicate_delivery"})
        return _answer(self._store(delivery, request.body))

    def _store(self, delivery: ShopifyDelivery, body: bytes) -> Accepted:
        key = delivery_key(delivery)
        if delivery.shop_domain != self.shop:
            other = f"delivery for another shop ({delivery.shop_domain})"
            return self._ignore(key, delivery.topic, body, other)
        if not delivery.is_product_event:
            return self._ignore(key, delivery.topic, body, f"topic {delivery.topic} not handled")
        try:
            product = parse_product(body)
        except MalformedPayload as exc:
            return self._reject(key, delivery.topic, body, str(exc))
        why = ignore_reason(product, find_product(PLATFORM, self.shop, str(product.id)))
        if why is not None:
            return self._ignore(key, delivery.topic, body, why)
        return accept_webhook(**self._common(key, delivery.topic, body),
                              product=product_input(product), enqueue=runtime.enqueue_soon)

    def _ignore(self, key: str, topic: str, body: bytes, reason: str) -> Accepted:
        return accept_webhook(**self._common(key, topic, body), product=None,
                              ignore_reason=reason[:255])

    def _reject(self, key: str | None, topic: str, body: bytes, reason: str) -> Accepted:
        log.warning("shopify webhook rejected: %s", reason)
        return reject_webhook(**self._common(key, topic, body), reason=reason[:255])

    def _common(self, key: str | None, topic: str, body: bytes) -> dict[str, Any]:
        return {"platform": PLATFORM, "shop": self.shop, "delivery_id": key,
                "topic": topic[:128], "body": body}


def _seen_before(shop: str, delivery: ShopifyDelivery) -> bool:
    ids = WebhookDelivery.delivery_id
    matches = [ids.endswith(f"|webhook:{delivery.webhook_id}", autoescape=True)]
    if delivery.event_id:
        matches.append(ids.startswith(f"event:{delivery.event_id}|", autoescape=True))
    query = (
        select(WebhookDelivery.id)
        .where(WebhookDelivery.platform == PLATFORM, WebhookDelivery.shop == shop)
        .where(or_(*matches))
        .limit(1)
    )
    with runtime.get_database().transaction() as session:
        return session.scalars(query).first() is not None


def _answer(accepted: Accepted) -> Response:
    return ok_response({"status": accepted.status.value, "reason": accepted.reason})
