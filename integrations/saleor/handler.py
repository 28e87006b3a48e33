"""``POST /webhooks/saleor``: verify the JWS, store, answer 200; the worker does the rest.

1. ``Saleor-Signature`` on the raw body: a detached RS256 JWS checked with the keys of
   ``SALEOR_JWKS_URL`` (cached, fetched again for an unknown ``kid``), or the deprecated hex
   HMAC only when ``SALEOR_WEBHOOK_SECRET`` is set. Bad or missing: 401, nothing stored.
   JWKS unreachable: 503, because Saleor retries 5xx (with backoff) but never a 4xx.
2. The inbox key is the body's SHA-256: Saleor resends the very same payload on a retry, and
   an event's ``issuedAt`` makes two events' bodies differ. Then the runtime de-duplicates
   per (shop, product id); the shop is the configured API host (see
   :attr:`~.settings.SaleorSettings.shop`).
3. Stored but not worked on: other events, products not published in any channel, and the
   echo of the connector's own ``updateMetadata`` (``kliqs_short_url`` in the payload, or the
   product was shortened already).
4. A verified body that cannot be used is stored ``rejected`` and answered 400: Saleor does not
   retry a 4xx, and shows the failed delivery to the shop's staff (most often the webhook's
   subscription query lacks the product fields).
"""

from __future__ import annotations

import hashlib
import logging
from dataclasses import dataclass
from typing import Any

from starlette.responses import Response

from kliqs_core.connector import (
    Accepted,
    InboxStatus,
    ProductInput,
    ProductRecord,
    WebhookRequest,
    accept_webhook,
    error_response,
    find_product,
    ok_response,
    reject_webhook,
    runtime,
)

from .jwks import JwksUnavailable
from .platform import PLATFORM
from .webhooks import (
    EVENT_HEADER,
    MalformedPayload,
    SaleorDelivery,
    SaleorProduct,
    SaleorSignatureVerifier,
    parse_product_event,
    should_shorten,
    signature_from_headers,
)

__all__ = ["SaleorWebhookHandler", "delivery_key", "ignore_reason", "product_input"]

log = logging.getLogger(__name__)


def delivery_key(body: bytes) -> str:
    """The inbox key of a delivery: the SHA-256 of its raw body."""
    return "sha256:" + hashlib.sha256(body).hexdigest()


def ignore_reason(product: SaleorProduct, stored: ProductRecord | None) -> str | None:
    """Why this product event needs no work, or ``None`` when it does."""
    if not should_shorten(product):
        return "not published in any channel"
    if product.short_url:
        return "echo: the payload carries kliqs_short_url already"
    if stored is not None and stored.short_url:
        return f"echo: already shortened as {stored.short_url}"
    return None


def product_input(product: SaleorProduct, delivery: SaleorDelivery) -> ProductInput:
    """What the worker needs later: the slug (for the URL template) and the sender's domain."""
    return ProductInput(
        product_id=product.id,
        title=product.name,
        data={"slug": product.slug, "domain": delivery.domain},
    )


@dataclass(frozen=True)
class SaleorWebhookHandler:
    """The webhook handler of one Saleor shop."""

    shop: str
    verifier: SaleorSignatureVerifier

    def __call__(self, request: WebhookRequest) -> Response:
        """Answer one delivery (runs in a thread: it may fetch the JWKS and writes the database)."""
        try:
            verified = self.verifier.verify(request.body, signature_from_headers(request.headers))
        except JwksUnavailable as exc:
            log.warning("saleor webhook not judged: %s", exc)
            return error_response(
                503, "JWKS_UNAVAILABLE", "The shop's signing keys cannot be fetched; retry later."
            )
        if not verified:
            log.warning("saleor webhook with a bad or missing signature from %s",
                        request.client_host)
            return error_response(401, "INVALID_SIGNATURE", "Saleor-Signature does not verify.")
        accepted = self._store(request)
        if accepted.status is InboxStatus.REJECTED:
            return error_response(400, "UNUSABLE_PAYLOAD", accepted.reason or "unusable payload")
        return _answer(accepted)

    def _store(self, request: WebhookRequest) -> Accepted:
        key = delivery_key(request.body)
        try:
            delivery = SaleorDelivery.from_headers(request.headers)
        except MalformedPayload as exc:
            topic = request.headers.get(EVENT_HEADER) or ""
            return self._reject(key, topic, request.body, str(exc))
        if not delivery.is_product_event:
            return self._ignore(key, delivery.event, request.body,
                                f"event {delivery.event} not handled")
        try:
            event = parse_product_event(request.body)
        except MalformedPayload as exc:
            return self._reject(key, delivery.event, request.body, str(exc))
        product = event.product
        why = ignore_reason(product, find_product(PLATFORM, self.shop, product.id))
        if why is not None:
            return self._ignore(key, delivery.event, request.body, why)
        return accept_webhook(**self._common(key, delivery.event, request.body),
                              product=product_input(product, delivery),
                              enqueue=runtime.enqueue_soon)

    def _ignore(self, key: str, topic: str, body: bytes, reason: str) -> Accepted:
        return accept_webhook(**self._common(key, topic, body), product=None,
                              ignore_reason=reason[:255])

    def _reject(self, key: str, topic: str, body: bytes, reason: str) -> Accepted:
        log.warning("saleor webhook rejected: %s", reason)
        return reject_webhook(**self._common(key, topic, body), reason=reason[:255])

    def _common(self, key: str, topic: str, body: bytes) -> dict[str, Any]:
        return {"platform": PLATFORM, "shop": self.shop, "delivery_id": key,
                "topic": topic[:128], "body": body}


def _answer(accepted: Accepted) -> Response:
    return ok_response({"status": accepted.status.value, "reason": accepted.reason})
