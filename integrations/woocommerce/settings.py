"""WooCommerce platform settings (environment variables WOOCOMMERCE_*), via pydantic-settings.

The platform is enabled by WOOCOMMERCE_ENABLED=true, or, when that is unset, by setting any of
the four connection variables; once enabled, all four are required.
"""

from __future__ import annotations

import os
from urllib.parse import urlsplit

from pydantic import SecretStr, ValidationError, field_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

__all__ = [
    "ENV_PREFIX",
    "REQUIRED_VARIABLES",
    "WooCommerceSettings",
    "WooCommerceSettingsError",
    "load_settings",
    "shop_id_from_url",
]

ENV_PREFIX = "WOOCOMMERCE_"
REQUIRED_VARIABLES = (
    "WOOCOMMERCE_URL",
    "WOOCOMMERCE_CONSUMER_KEY",
    "WOOCOMMERCE_CONSUMER_SECRET",
    "WOOCOMMERCE_WEBHOOK_SECRET",
)
_FALSE = {"0", "false", "no", "off"}


class WooCommerceSettingsError(ValueError):
    """The WooCommerce settings are incomplete or invalid; `missing` names unset variables."""

    def __init__(self, message: str, *, missing: tuple[str, ...] = ()) -> None:
        super().__init__(message)
        self.missing = missing


class WooCommerceSettings(BaseSettings):
    """One shop's connection: REST URL and keys, and the webhook secret set in WooCommerce."""

    model_config = SettingsConfigDict(env_prefix=ENV_PREFIX, extra="ignore", frozen=True)

    url: str
    consumer_key: SecretStr
    consumer_secret: SecretStr
    webhook_secret: SecretStr
    timeout: float = 10.0
    verify_ssl: bool = True

    @field_validator("url")
    @classmethod
    def _check_url(cls, value: str) -> str:
        value = value.strip().rstrip("/")
        parts = urlsplit(value)
        if parts.scheme not in ("http", "https") or not parts.hostname:
            raise ValueError("must be an http(s) URL such as https://toko.example")
        return value

    @field_validator("consumer_key", "consumer_secret", "webhook_secret")
    @classmethod
    def _not_blank(cls, value: SecretStr) -> SecretStr:
        if not value.get_secret_value().strip():
            raise ValueError("must not be empty")
        return value

    @property
    def shop_id(self) -> str:
        """The shop's identity in the connector's tables: the URL host (plus a non-default port)."""
        return shop_id_from_url(self.url)

    @classmethod
    def from_env(cls) -> WooCommerceSettings:
        """Read the settings, raising `WooCommerceSettingsError` that names each bad variable."""
        try:
            return cls()  # type: ignore[call-arg]  # the values come from the environment
        except ValidationError as exc:
            raise _settings_error(exc) from None  # the pydantic trace would repeat the values


def load_settings(*, enabled: bool | None = None) -> WooCommerceSettings | None:
    """Settings when the platform is enabled, None when it is not.

    `enabled` overrides the environment; otherwise WOOCOMMERCE_ENABLED decides, and when that
    is unset too, the platform counts as enabled as soon as one connection variable is set.
    """
    if enabled is None:
        enabled = _enabled_from_env()
    return WooCommerceSettings.from_env() if enabled else None


def shop_id_from_url(url: str) -> str:
    """Lower-cased host of the shop URL, plus the port when it is not the scheme's default."""
    parts = urlsplit(url.strip())
    if not parts.hostname:
        raise ValueError(f"not a shop URL: {url!r}")
    default_port = {"http": 80, "https": 443}.get(parts.scheme)
    if parts.port is None or parts.port == default_port:
        return parts.hostname
    return f"{parts.hostname}:{parts.port}"


def _enabled_from_env() -> bool:
    flag = os.environ.get(f"{ENV_PREFIX}ENABLED")
    if flag is not None and flag.strip():
        return flag.strip().lower() not in _FALSE
    return any(os.environ.get(name, "").strip() for name in REQUIRED_VARIABLES)


def _settings_error(exc: ValidationError) -> WooCommerceSettingsError:
    missing: list[str] = []
    problems: list[str] = []
    for error in exc.errors():
        name = ENV_PREFIX + "_".join(str(part) for part in error["loc"]).upper()
        if error["type"] == "missing":
            missing.append(name)
        else:
            problems.append(f"{name} {error['msg'].removeprefix('Value error, ')}")
    parts = []
    if missing:
        parts.append("missing " + ", ".join(missing))
    parts.extend(problems)
    message = "WooCommerce is enabled but its settings are incomplete: " + "; ".join(parts)
    return WooCommerceSettingsError(message, missing=tuple(missing))
