"""The Shopify connector plug-in: ``KLIQS_CONNECTOR_PLUGINS=shopify`` calls :func:`setup`.

Settings (environment): ``SHOPIFY_SHOP`` (``xxx.myshopify.com``), ``SHOPIFY_ACCESS_TOKEN``
(Admin API, scope ``write_products``), ``SHOPIFY_WEBHOOK_SECRETS`` (the app's client secret;
during a rotation ``new,old``), and optionally ``SHOPIFY_API_VERSION`` and
``SHOPIFY_ADMIN_URL`` (a proxy or stand-in instead of ``https://{shop}``).
"""

from __future__ import annotations

from pydantic import ValidationError

from kliqs_core.connector import (
    ConnectorConfigError,
    register_platform,
    register_webhook_route,
    require,
)

from .handler import ShopifyWebhookHandler
from .platform import PLATFORM, ShopifyPlatform, admin_for_worker
from .settings import ShopifySettings

__all__ = ["REQUIRED_SETTINGS", "load_settings", "setup"]

REQUIRED_SETTINGS = ("SHOPIFY_SHOP", "SHOPIFY_ACCESS_TOKEN", "SHOPIFY_WEBHOOK_SECRETS")


def load_settings() -> ShopifySettings:
    """Read ``SHOPIFY_*`` now; raise :class:`ConnectorConfigError` naming what is missing."""
    try:
        settings = ShopifySettings()
    except ValidationError as exc:
        raise ConnectorConfigError(f"{PLATFORM}: invalid settings: {exc}") from exc
    token = settings.access_token.get_secret_value() if settings.access_token else None
    present = {
        "SHOPIFY_SHOP": settings.shop,
        "SHOPIFY_ACCESS_TOKEN": token,
        "SHOPIFY_WEBHOOK_SECRETS": ",".join(settings.webhook_secrets),
    }
    require(present, *REQUIRED_SETTINGS, platform=PLATFORM)
    return settings


def setup() -> None:
    """Check the settings, then register the platform and ``POST /webhooks/shopify``."""
    settings = load_settings()
    assert settings.shop is not None  # checked by load_settings
    register_platform(ShopifyPlatform(admin_for_worker(settings)))
    register_webhook_route(
        PLATFORM, ShopifyWebhookHandler(settings.shop, tuple(settings.webhook_secrets))
    )
