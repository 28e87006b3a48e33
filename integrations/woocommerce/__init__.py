"""WooCommerce connector: webhook checks and parsing, the REST client, settings, the plug-in.

The pure pieces (signatures, payloads, REST client, settings) are framework-free. The
connector plug-in lives in `integrations.woocommerce.plugin` and is loaded lazily by `setup`
(``KLIQS_CONNECTOR_PLUGINS=woocommerce``), so importing this package stays cheap.
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
    "setup",
    "should_shorten",
    "verify_signature",
]


def setup() -> None:
    """Connector plug-in entry point: register the platform and ``/webhooks/woocommerce``."""
    from integrations.woocommerce.plugin import setup as _setup

    _setup()
