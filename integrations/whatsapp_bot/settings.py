"""The bot's settings, from ``WHATSAPP_*`` environment variables (and an optional ``.env``)."""

from __future__ import annotations

from functools import lru_cache

from pydantic import Field, SecretStr, ValidationError, field_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

from integrations.whatsapp_bot.client import (
    DEFAULT_API_VERSION,
    DEFAULT_GRAPH_URL,
    normalize_api_version,
)

ENV_PREFIX = "WHATSAPP_"


class WhatsAppSettingsError(RuntimeError):
    """A required setting is missing or a value is invalid; the message names the variables."""


class WhatsAppSettings(BaseSettings):
    """Everything the bot needs to talk to one business phone number."""

    model_config = SettingsConfigDict(env_prefix=ENV_PREFIX, env_file=".env", extra="ignore")

    phone_number_id: str = Field(min_length=1)
    access_token: SecretStr = Field(min_length=1)
    app_secret: SecretStr = Field(min_length=1)
    verify_token: SecretStr = Field(min_length=1)
    api_version: str = DEFAULT_API_VERSION
    graph_url: str = DEFAULT_GRAPH_URL
    template_name: str | None = None
    """The approved template for new products, body ``{{1}}`` = title, ``{{2}}`` = short URL."""
    template_language: str = "id"
    mps: int = Field(default=80, gt=0)
    """Messages per second for this number (80 by default, 1,000 once Meta upgrades it)."""
    headroom: float = Field(default=0.05, ge=0, lt=0.5)
    """Share of ``mps`` left unused: Meta counts arrivals, and scheduling and network jitter
    bunch evenly spaced sends together, so pacing at exactly ``mps`` would sometimes exceed it."""
    burst: float | None = Field(default=None, ge=1)
    """Token bucket capacity: sends allowed at once after a pause. The default, half the
    headroom's worth (2 at 80 mps), keeps every 1 s window under ``mps``: the refill plus the
    burst never adds up to more than the number's rate."""
    redis_url: str | None = None
    """Redis for the shared token bucket; unset: ``KLIQS_BROKER_URL`` when it is Redis."""
    timeout: float = Field(default=10.0, gt=0)
    """Seconds for one Graph API request."""
    retry_base: float = Field(default=2.0, gt=0)
    """First backoff in seconds after 130429, 131056 (at least 6 s) or a 5xx; doubles each time."""
    retry_cap: float = Field(default=300.0, gt=0, le=3000)
    """Longest backoff in seconds (under Redis' one-hour visibility timeout)."""
    max_attempts: int = Field(default=8, ge=1)
    """Send attempts per message before it fails for good."""
    claim_seconds: float = Field(default=60.0, gt=0)
    """How long a send holds its message: a third of it at most waits for a send token, and
    it must outlast that plus ``timeout`` (the request) plus a database write."""
    resend_grace: float = Field(default=60.0, ge=0)
    """Seconds after a lost send's claim ran out to wait for a status webhook before resending."""

    @field_validator("api_version")
    @classmethod
    def _version(cls, value: str) -> str:
        return normalize_api_version(value)

    @field_validator("graph_url")
    @classmethod
    def _strip_slash(cls, value: str) -> str:
        return value.rstrip("/")

    @property
    def send_rate(self) -> float:
        """Messages per second the token bucket refills at: ``mps`` less the headroom."""
        return self.mps * (1 - self.headroom)

    @property
    def bucket_capacity(self) -> float:
        """The token bucket's capacity (``burst``, else half the headroom's worth, at least 1)."""
        return self.burst if self.burst is not None else max(1.0, self.mps * self.headroom / 2)

    @field_validator("template_name")
    @classmethod
    def _blank_is_none(cls, value: str | None) -> str | None:
        return value or None


def load_settings(**overrides: object) -> WhatsAppSettings:
    """Read the settings; raise :class:`WhatsAppSettingsError` naming each bad variable."""
    try:
        return WhatsAppSettings(**overrides)  # type: ignore[arg-type]
    except ValidationError as exc:
        raise WhatsAppSettingsError(_describe(exc)) from None


@lru_cache(maxsize=1)
def get_settings() -> WhatsAppSettings:
    """The process-wide settings, read once on first use."""
    return load_settings()


def _describe(exc: ValidationError) -> str:
    missing: list[str] = []
    invalid: list[str] = []
    for error in exc.errors():
        name = ENV_PREFIX + str(error["loc"][0]).upper() if error["loc"] else ENV_PREFIX
        # The only length rule here is min_length=1: too short means set but empty.
        if error["type"] in ("missing", "string_too_short", "too_short"):
            missing.append(name)
        else:
            invalid.append(f"{name}: {error['msg']}")
    parts = []
    if missing:
        parts.append("missing required WhatsApp setting(s): " + ", ".join(missing))
    if invalid:
        parts.append("invalid WhatsApp setting(s): " + "; ".join(invalid))
    return "; ".join(parts)
