"""The connector plug-in: ``KLIQS_CONNECTOR_PLUGINS=woocommerce`` makes the runtime call `setup`.

`setup` runs once in every connector process (web and worker). It reads the four
``WOOCOMMERCE_*`` settings (a missing one stops the start with a message naming it), then
registers the platform (product URL, write-back) and the ``/webhooks/woocommerce`` route.
"""

from __future__ import annotations

import os

from integrations.woocommerce.api import WooCommerceClient
from integrations.woocommerce.handler import WooWebhookHandler
from integrations.woocommerce.platform import PLATFORM, WooCommercePlatform
from integrations.woocommerce.settings import (
    REQUIRED_VARIABLES,
    WooCommerceSettings,
    WooCommerceSettingsError,
)
from kliqs_core.connector import (
    ConnectorConfigError,
    register_platform,
    register_webhook_route,
    require,
)

__all__ = ["connector_settings", "setup"]


def connector_settings() -> WooCommerceSettings:
    """The WooCommerce settings, or `ConnectorConfigError` naming what is missing or wrong."""
    require(os.environ, *REQUIRED_VARIABLES, platform=PLATFORM)
    try:
        return WooCommerceSettings.from_env()
    except WooCommerceSettingsError as exc:
        raise ConnectorConfigError(f"{PLATFORM}: {exc}") from None


def setup() -> None:
    """Register the WooCommerce platform and its webhook route (registering again replaces)."""
    settings = connector_settings()
    client = WooCommerceClient.from_settings(settings)
    register_platform(WooCommercePlatform(client))
    handler = WooWebhookHandler(
        secret=settings.webhook_secret.get_secret_value(), shop=settings.shop_id, platform=PLATFORM
    )
    register_webhook_route(PLATFORM, handler.handle)
