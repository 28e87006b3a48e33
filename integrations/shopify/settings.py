"""Shopify settings, read from the environment (``SHOPIFY_*``) by pydantic-settings.

Everything is optional so that a Kliqs install without Shopify starts; the pieces that
need a value say so clearly (:meth:`ShopifySettings.require`).
"""

from __future__ import annotations

from functools import lru_cache
from typing import Annotated

from pydantic import Field, SecretStr, field_validator
from pydantic_settings import BaseSettings, NoDecode, SettingsConfigDict

#: A supported Admin API version (quarterly releases, each supported for 12 months).
DEFAULT_API_VERSION = "2026-07"


class ShopifyNotConfigured(RuntimeError):
    """A Shopify setting the caller needs is not set."""


class ShopifySettings(BaseSettings):
    """``SHOPIFY_SHOP``, ``SHOPIFY_ACCESS_TOKEN``, ``SHOPIFY_WEBHOOK_SECRETS`` and friends."""

    model_config = SettingsConfigDict(env_prefix="SHOPIFY_", extra="ignore")

    shop: str | None = Field(default=None, description="xxx.myshopify.com")
    access_token: SecretStr | None = None
    # Comma-separated: during a client-secret rotation both old and new are listed.
    webhook_secrets: Annotated[list[str], NoDecode] = Field(default_factory=list, repr=False)
    api_version: str = DEFAULT_API_VERSION
    # Overrides https://{shop} (a stand-in, a proxy); the path /admin/api/... is appended.
    admin_url: str | None = None

    @field_validator("webhook_secrets", mode="before")
    @classmethod
    def _split_secrets(cls, value: object) -> object:
        if isinstance(value, str):
            return [part.strip() for part in value.split(",") if part.strip()]
        return value

    @field_validator("shop", "admin_url", mode="before")
    @classmethod
    def _blank_is_none(cls, value: object) -> object:
        if isinstance(value, str) and not value.strip():
            return None
        return value

    @field_validator("shop")
    @classmethod
    def _bare_domain(cls, value: str | None) -> str | None:
        # "https://Toko.myshopify.com/" and "toko.myshopify.com" name the same shop; the
        # webhook header X-Shopify-Shop-Domain carries the bare, lower-case form.
        if value is None:
            return None
        bare = value.strip().lower().removeprefix("https://").removeprefix("http://")
        return bare.rstrip("/")

    def require(self, *names: str) -> None:
        """Raise :class:`ShopifyNotConfigured` listing the ``SHOPIFY_*`` variables not set."""
        missing = [f"SHOPIFY_{name.upper()}" for name in names if not getattr(self, name)]
        if missing:
            raise ShopifyNotConfigured(f"Shopify is not configured: set {', '.join(missing)}")


@lru_cache(maxsize=1)
def get_settings() -> ShopifySettings:
    """The process-wide Shopify settings, read once on first call."""
    return ShopifySettings()
