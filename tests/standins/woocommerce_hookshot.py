"""Send webhook deliveries exactly like WooCommerce's Hookshot (WC_Webhook::deliver / deliver_ping).

For end-to-end tests of the connector: the body is `wp_json_encode` output (``/`` escaped as
``\\/``, non-ASCII as ``\\uXXXX``), signed over those exact bytes, with every X-WC-Webhook-* header.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
from typing import Any

import requests

from tests.standins.woocommerce_standin import wp_json_encode

__all__ = ["USER_AGENT", "post_ping", "sign_and_post", "signature_for", "wp_json_encode"]

USER_AGENT = "WooCommerce/9.8.5 Hookshot (WordPress/6.8.1)"


def signature_for(body: bytes, secret: str) -> str:
    """X-WC-Webhook-Signature: base64 HMAC-SHA256 of the body with the (decoded) secret."""
    return base64.b64encode(hmac.new(secret.encode("utf-8"), body, hashlib.sha256).digest()).decode()


def sign_and_post(connector_url: str, secret: str, product: dict[str, Any] | bytes, topic: str,
                  delivery_id: str, *, webhook_id: int = 1, source: str = "https://toko.example/",
                  timeout: float = 10.0) -> requests.Response:
    """POST one delivery the way WC_Webhook::deliver() does: wp_json_encode body, signed."""
    body = product if isinstance(product, bytes) else wp_json_encode(product)
    resource, _, event = topic.partition(".")
    headers = {
        "User-Agent": USER_AGENT,
        "Content-Type": "application/json",
        "X-WC-Webhook-Source": source, "X-WC-Webhook-Topic": topic,
        "X-WC-Webhook-Resource": resource, "X-WC-Webhook-Event": event,
        "X-WC-Webhook-Signature": signature_for(body, secret),
        "X-WC-Webhook-ID": str(webhook_id), "X-WC-Webhook-Delivery-ID": delivery_id,
    }
    return requests.post(connector_url, data=body, headers=headers, timeout=timeout,
                         allow_redirects=False)


def post_ping(connector_url: str, webhook_id: int = 1, *, timeout: float = 10.0) -> requests.Response:
    """The ping WooCommerce sends when a webhook is created: ``webhook_id=N``, no WC headers."""
    return requests.post(connector_url, data=f"webhook_id={webhook_id}".encode(), timeout=timeout,
                         headers={"User-Agent": USER_AGENT,
                                  "Content-Type": "application/x-www-form-urlencoded"},
                         allow_redirects=False)
