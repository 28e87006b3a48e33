"""The Saleor connector plug-in: ``KLIQS_CONNECTOR_PLUGINS=saleor`` calls :func:`setup`.

Settings (environment): ``SALEOR_API_URL`` (``https://shop.example/graphql/``),
``SALEOR_APP_TOKEN`` (an app token with ``MANAGE_PRODUCTS``), ``SALEOR_STOREFRONT_URL_TEMPLATE``
(with ``{slug}``), and optionally ``SALEOR_JWKS_URL`` (default: ``/.well-known/jwks.json`` on
the API's host), ``SALEOR_JWKS_TTL``, ``SALEOR_JWKS_REFETCH_COOLDOWN`` and
``SALEOR_WEBHOOK_SECRET`` (only for webhooks made with the deprecated HMAC secret).
"""

from __future__ import annotations

from pydantic import ValidationError

from kliqs_core.connector import (
    ConnectorConfigError,
    register_platform,
    register_webhook_route,
    require,
)

from .api import SaleorAPI
from .handler import SaleorWebhookHandler
from .platform import PLATFORM, SaleorPlatform
from .settings import SaleorSettings
from .webhooks import SaleorSignatureVerifier

__all__ = ["REQUIRED_SETTINGS", "load_settings", "setup"]

REQUIRED_SETTINGS = ("SALEOR_API_URL", "SALEOR_APP_TOKEN", "SALEOR_STOREFRONT_URL_TEMPLATE")


def load_settings() -> SaleorSettings:
    """Read ``SALEOR_*`` now; raise :class:`ConnectorConfigError` naming what is missing."""
    try:
        settings = SaleorSettings()
    except ValidationError as exc:
        raise ConnectorConfigError(f"{PLATFORM}: invalid settings: {exc}") from exc
    require(settings, *REQUIRED_SETTINGS, platform=PLATFORM)
    if settings.shop is None:
        raise ConnectorConfigError(f"{PLATFORM}: SALEOR_API_URL has no host: {settings.api_url}")
    return settings


def setup() -> None:
    """Check the settings, then register the platform and ``POST /webhooks/saleor``."""
    settings = load_settings()
    assert settings.shop is not None  # checked by load_settings
    register_platform(SaleorPlatform(lambda: SaleorAPI.from_settings(settings)))
    register_webhook_route(
        PLATFORM,
        SaleorWebhookHandler(settings.shop, SaleorSignatureVerifier.from_settings(settings)),
    )
