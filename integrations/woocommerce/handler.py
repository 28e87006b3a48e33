"""``POST /webhooks/woocommerce``: verify, store, answer; the worker does the rest.

Order matters and is the whole point of this module:

1. WooCommerce's ping on webhook creation (``webhook_id=N``, no X-WC-Webhook-* headers, no
   signature) answers exactly 200 and stores nothing.
2. The signature is checked on the raw bytes, before any parsing: bad or missing -> 401,
   nothing stored.
3. Verified but unusable (malformed JSON, missing headers) -> stored as rejected, 400.
4. Other topics, drafts, variations and the echo of our own write-back are stored as
   ignored, 200. A published product is stored (de-duplicated by delivery id, then by
   product) and queued, 200.
"""

from __future__ import annotations

import html
import logging
from dataclasses import dataclass
from typing import Any

from starlette.responses import Response

from integrations.woocommerce.errors import MalformedPayload
from integrations.woocommerce.models import WooProduct, is_our_echo, parse_product
from integrations.woocommerce.webhooks import (
    SIGNATURE_HEADER,
    TOPIC_HEADER,
    header,
    is_ping,
    parse_delivery,
    verify_signature,
)
from kliqs_core.connector import (
    Accepted,
    ProductInput,
    WebhookRequest,
    accept_webhook,
    accept_webhook_async,
    error_response,
    ok_response,
    reject_webhook,
    reject_webhook_async,
    runtime,
)

__all__ = ["DELIVERY_ID_HEADER", "WooWebhookHandler", "product_input", "skip_reason"]

log = logging.getLogger(__name__)

DELIVERY_ID_HEADER = "X-WC-Webhook-Delivery-ID"


def skip_reason(product: WooProduct) -> str | None:
    """Why a product is not shortened now, or None when it should be (see `should_shorten`)."""
    if is_our_echo(product):
        return "echo: the product already carries its kliqs_short_url"
    if product.status != "publish":
        return f"not published (status {product.status})"
    if product.type == "variation":
        return "variation: its parent product is shortened"
    if not product.permalink:
        return "no permalink"
    return None


def product_input(product: WooProduct) -> ProductInput:
    """What the connector stores for a product it will shorten."""
    return ProductInput(
        product_id=str(product.id),
        # WordPress stores titles HTML-escaped ("Kopi &amp; Teh"); the link title is text.
        title=html.unescape(product.name).strip(),
        product_url=product.permalink,
        data={
            "permalink": product.permalink,
            "slug": product.slug,
            "status": product.status,
            "type": product.type,
            "date_modified_gmt": (
                product.date_modified_gmt.isoformat() if product.date_modified_gmt else None
            ),
        },
    )


@dataclass(frozen=True)
class _Verified:
    """A delivery whose signature checked out, and what the inbox should store for it."""

    fields: dict[str, Any]  # platform, shop, delivery_id, topic, body
    product: ProductInput | None = None
    ignore_reason: str | None = None
    #: Set when the delivery is unusable (stored as rejected, answered 400).
    reject_reason: str | None = None


class WooWebhookHandler:
    """The webhook handler of one shop: ``shop`` is its id in the connector's tables.

    Call it (sync, in a thread: it writes the database) or await :meth:`handle` (on the
    event loop: the store runs on the database's batch writer); both store and answer the
    same. The plug-in registers :meth:`handle`.
    """

    def __init__(self, *, secret: str, shop: str, platform: str = "woocommerce") -> None:
        if not secret:
            raise ValueError("the webhook secret must not be empty")
        self._secret = secret
        self.shop = shop
        self.platform = platform

    def __call__(self, request: WebhookRequest) -> Response:
        """Handle one delivery, storing it from this thread."""
        verified = self._verify(request)
        if isinstance(verified, Response):
            return verified
        if verified.reject_reason is not None:
            reject_webhook(**verified.fields, reason=verified.reject_reason)
            return _rejected(verified.reject_reason)
        return _answer(accept_webhook(
            **verified.fields, product=verified.product, ignore_reason=verified.ignore_reason,
            # The row is committed now; the task is published from a background thread, so
            # the answer never waits on the broker. A process killed in between loses
            # nothing: the sweeper re-queues stored, unfinished products.
            enqueue=runtime.enqueue_soon,
        ))  # fmt: skip

    async def handle(self, request: WebhookRequest) -> Response:
        """Handle one delivery on the event loop (the route the plug-in registers)."""
        verified = self._verify(request)
        if isinstance(verified, Response):
            return verified
        if verified.reject_reason is not None:
            await reject_webhook_async(**verified.fields, reason=verified.reject_reason)
            return _rejected(verified.reject_reason)
        return _answer(await accept_webhook_async(
            **verified.fields, product=verified.product, ignore_reason=verified.ignore_reason,
            enqueue=runtime.enqueue_soon,
        ))  # fmt: skip

    def _verify(self, request: WebhookRequest) -> Response | _Verified:
        """An answer for what stores nothing (a ping, a bad signature), else what to store.

        Pure CPU, no I/O: cheap enough for the event loop.
        """
        body, headers = request.body, request.headers
        if is_ping(body, headers):
            return ok_response({"ping": True})
        if not verify_signature(body, header(request.headers, SIGNATURE_HEADER), self._secret):
            log.warning("woocommerce webhook with a bad or missing signature from %s",
                        request.client_host)  # fmt: skip
            return error_response(401, "INVALID_SIGNATURE", "The webhook signature is invalid.")
        try:
            delivery = parse_delivery(headers)
        except MalformedPayload as exc:
            return self._reject(request, str(exc))
        fields = dict(platform=self.platform, shop=self.shop, delivery_id=delivery.delivery_id,
                      topic=delivery.topic, body=body)  # fmt: skip
        if not delivery.is_handled:
            return _Verified(fields, ignore_reason=f"topic {delivery.topic} is not handled")
        try:
            product = parse_product(body)
        except MalformedPayload as exc:
            return self._reject(request, str(exc))
        reason = skip_reason(product)
        if reason is not None:
            return _Verified(fields, ignore_reason=reason)
        return _Verified(fields, product=product_input(product))

    def _reject(self, request: WebhookRequest, reason: str) -> _Verified:
        log.warning("woocommerce webhook rejected: %s", reason)
        headers = request.headers
        fields = dict(platform=self.platform, shop=self.shop,
                      delivery_id=header(headers, DELIVERY_ID_HEADER),
                      topic=header(headers, TOPIC_HEADER) or "", body=request.body)  # fmt: skip
        return _Verified(fields, reject_reason=reason[:255])


def _rejected(reason: str) -> Response:
    return error_response(400, "MALFORMED_PAYLOAD", reason)


def _answer(accepted: Accepted) -> Response:
    return ok_response(
        {"status": accepted.status.value, "reason": accepted.reason, "duplicate": not accepted.new}
    )
