"""Saleor settings, read from the environment (``SALEOR_*``) by pydantic-settings.

Everything is optional so that a Kliqs install without Saleor starts; the pieces that need
a value say so clearly (:meth:`SaleorSettings.require`).
"""

from __future__ import annotations

from functools import lru_cache
from urllib.parse import urlsplit

from pydantic import SecretStr, field_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

from .jwks import DEFAULT_REFETCH_COOLDOWN, DEFAULT_TTL, jwks_url_for


class SaleorNotConfigured(RuntimeError):
    """A Saleor setting the caller needs is not set."""


class SaleorSettings(BaseSettings):
    """``SALEOR_API_URL``, ``SALEOR_APP_TOKEN``, ``SALEOR_JWKS_URL`` and friends."""

    model_config = SettingsConfigDict(env_prefix="SALEOR_", extra="ignore")

    api_url: str | None = None  # https://shop.example/graphql/
    app_token: SecretStr | None = None
    # Defaults to {scheme}://{host}/.well-known/jwks.json of api_url (see jwks_url_effective).
    jwks_url: str | None = None
    jwks_ttl: float = DEFAULT_TTL
    # Seconds between two refetches forced by an unknown kid (forged kids cannot flood the shop).
    jwks_refetch_cooldown: float = DEFAULT_REFETCH_COOLDOWN
    # e.g. https://store.example/products/{slug}
    storefront_url_template: str | None = None
    # Only set for webhooks created with a secret_key (deprecated hex HMAC signatures).
    webhook_secret: SecretStr | None = None

    @field_validator("api_url", "jwks_url", "storefront_url_template", mode="before")
    @classmethod
    def _blank_is_none(cls, value: object) -> object:
        if isinstance(value, str) and not value.strip():
            return None
        return value

    @field_validator("storefront_url_template")
    @classmethod
    def _template_has_slug(cls, value: str | None) -> str | None:
        if value is not None and "{slug}" not in value:
            raise ValueError("SALEOR_STOREFRONT_URL_TEMPLATE must contain {slug}")
        return value

    @property
    def shop(self) -> str | None:
        """The shop's identity in the connector: the host of the configured API URL.

        Not the ``Saleor-Domain`` header: it is outside the signature, so a replayed body
        with another domain must still land on the same product row.
        """
        if not self.api_url:
            return None
        return urlsplit(self.api_url).netloc.lower() or None

    @property
    def jwks_url_effective(self) -> str | None:
        """The configured JWKS URL, else the one derived from the configured API URL."""
        if self.jwks_url:
            return self.jwks_url
        return jwks_url_for(self.api_url) if self.api_url else None

    def require(self, *names: str) -> None:
        """Raise :class:`SaleorNotConfigured` listing the ``SALEOR_*`` variables not set."""
        missing = [f"SALEOR_{name.upper()}" for name in names if not getattr(self, name)]
        if missing:
            raise SaleorNotConfigured(f"Saleor is not configured: set {', '.join(missing)}")


@lru_cache(maxsize=1)
def get_settings() -> SaleorSettings:
    """The process-wide Saleor settings, read once on first call."""
    return SaleorSettings()
