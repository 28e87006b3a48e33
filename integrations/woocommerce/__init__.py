"""WooCommerce connector pieces: webhook checks and parsing, the REST client, settings.

Framework-free; the connector runtime wires them into its inbox, tasks and pipeline.
"""

from __future__ import annotations

from integrations.woocommerce.api import WooCommerceClient
from integrations.woocommerce.errors import (
    MalformedPayload,
    WooAuthError,
    WooClientError,
    WooCommerceError,
    WooConnectionError,
    WooHTTPError,
    WooInvalidResponseError,
    WooNotFoundError,
    WooRateLimitError,
    WooServerError,
)
from integrations.woocommerce.models import (
    SHORT_URL_META_KEY,
    WooProduct,
    is_our_echo,
    parse_product,
    should_shorten,
)
from integrations.woocommerce.settings import (
    WooCommerceSettings,
    WooCommerceSettingsError,
    load_settings,
)
from integrations.woocommerce.webhooks import (
    HANDLED_TOPICS,
    WooDelivery,
    is_ping,
    parse_delivery,
    verify_signature,
)

PLATFORM = "woocommerce"

__all__ = [
    "HANDLED_TOPICS",
    "PLATFORM",
    "SHORT_URL_META_KEY",
    "MalformedPayload",
    "WooAuthError",
    "WooClientError",
    "WooCommerceClient",
    "WooCommerceError",
    "WooCommerceSettings",
    "WooCommerceSettingsError",
    "WooConnectionError",
    "WooDelivery",
    "WooHTTPError",
    "WooInvalidResponseError",
    "WooNotFoundError",
    "WooProduct",
    "WooRateLimitError",
    "WooServerError",
    "is_our_echo",
    "is_ping",
    "load_settings",
    "parse_delivery",
    "parse_product",
    "should_shorten",
    "verify_signature",
]
