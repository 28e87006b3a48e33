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

from starlette.responses import Response

from integrations.woocommerce.errors import MalformedPayload
from integrations.woocommerce.models import WooProduct, is_our_echo, parse_product
from integrations.woocommerce.webhooks import (
    SIGNATURE_HEADER,
    TOPIC_HEADER,
    WooDelivery,
    is_ping,
    parse_delivery,
    verify_signature,
)
from kliqs_core.connector import (
    Accepted,
    ProductInput,
    WebhookRequest,
    accept_webhook,
    error_response,
    ok_response,
    reject_webhook,
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


class WooWebhookHandler:
    """The webhook handler of one shop: ``shop`` is its id in the connector's tables."""

    def __init__(self, *, secret: str, shop: str, platform: str = "woocommerce") -> None:
        if not secret:
            raise ValueError("the webhook secret must not be empty")
        self._secret = secret
        self.shop = shop
        self.platform = platform

    def __call__(self, request: WebhookRequest) -> Response:
        """Handle one delivery (sync: the runtime runs it in a thread, it writes the database)."""
        body, headers = request.body, request.headers
        if is_ping(body, headers):
            return ok_response({"ping": True})
        if not verify_signature(body, _header(request, SIGNATURE_HEADER), self._secret):
            log.warning("woocommerce webhook with a bad or missing signature from %s",
                        request.client_host)  # fmt: skip
            return error_response(401, "INVALID_SIGNATURE", "The webhook signature is invalid.")
        try:
            delivery = parse_delivery(headers)
        except MalformedPayload as exc:
            return self._reject(request, str(exc))
        if not delivery.is_handled:
            return self._ignore(request, delivery, f"topic {delivery.topic} is not handled")
        try:
            product = parse_product(body)
        except MalformedPayload as exc:
            return self._reject(request, str(exc))
        reason = skip_reason(product)
        if reason is not None:
            return self._ignore(request, delivery, reason)
        return self._accept(request, delivery, product)

    def _accept(
        self, request: WebhookRequest, delivery: WooDelivery, product: WooProduct
    ) -> Response:
        accepted = accept_webhook(
            platform=self.platform,
            shop=self.shop,
            delivery_id=delivery.delivery_id,
            topic=delivery.topic,
            body=request.body,
            product=product_input(product),
            # The row is committed now; the task is published from a background thread, so
            # the answer never waits on the broker. A process killed in between loses
            # nothing: the sweeper re-queues stored, unfinished products.
            enqueue=runtime.enqueue_soon,
        )
        return _answer(accepted)

    def _ignore(self, request: WebhookRequest, delivery: WooDelivery, reason: str) -> Response:
        accepted = accept_webhook(
            platform=self.platform,
            shop=self.shop,
            delivery_id=delivery.delivery_id,
            topic=delivery.topic,
            body=request.body,
            product=None,
            ignore_reason=reason,
        )
        return _answer(accepted)

    def _reject(self, request: WebhookRequest, reason: str) -> Response:
        reject_webhook(
            platform=self.platform,
            shop=self.shop,
            delivery_id=_header(request, DELIVERY_ID_HEADER),
            topic=_header(request, TOPIC_HEADER) or "",
            body=request.body,
            reason=reason[:255],
        )
        log.warning("woocommerce webhook rejected: %s", reason)
        return error_response(400, "MALFORMED_PAYLOAD", reason)


def _answer(accepted: Accepted) -> Response:
    return ok_response(
        {"status": accepted.status.value, "reason": accepted.reason, "duplicate": not accepted.new}
    )


def _header(request: WebhookRequest, name: str) -> str | None:
    """A header by name, in any case (the runtime's headers ignore case; a plain dict may not)."""
    value = request.headers.get(name)
    if value is None:
        wanted = name.lower()
        value = next((v for k, v in request.headers.items() if k.lower() == wanted), None)
    return (value.strip() or None) if value is not None else None
