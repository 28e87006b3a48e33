"""Settings for the Kliqs server, read once from the environment (and an optional ``.env``)."""

from __future__ import annotations

from functools import lru_cache
from pathlib import Path
from urllib.parse import urlsplit

from pydantic import Field, field_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

DEFAULT_RESERVED_SLUGS = frozenset(
    """api dash docs home www app admin administrator root login logout signin signup register
    account accounts settings billing static assets public media health healthz metrics status
    robots.txt favicon.ico sitemap.xml well-known .well-known kliqs help support about terms
    privacy bio qr webhooks null undefined""".split()
)


class Settings(BaseSettings):
    """Every server setting, with defaults that run on one machine with SQLite."""

    model_config = SettingsConfigDict(env_prefix="KLIQS_", env_file=".env", extra="ignore")

    data_dir: Path = Path("kliqs-data")
    database_url: str = ""
    public_base_url: str = "http://localhost:8000"
    # Host names for the split deployment; all unset serves everything on one origin.
    api_host: str | None = None
    public_host: str | None = None
    dash_host: str | None = None
    reserved_slugs: str = Field(default="", description="extra reserved slugs, comma-separated")
    burst_limit: int = Field(default=20, ge=1, description="API requests per second per key")
    max_body_bytes: int = 64 * 1024
    secret_key: str = ""
    redis_url: str | None = None
    # Header set by a trusted proxy with the visitor's country (e.g. CF-IPCountry).
    country_header: str | None = None
    # Seconds an edit may take to reach every worker's redirect cache (how often each reads
    # the link change feed); 0 turns the cache off.
    link_cache_ttl: float = Field(default=0.5, ge=0)
    click_flush_interval: float = Field(default=0.2, gt=0)
    clock_offset_seconds: float = 0.0
    log_level: str = "info"
    # Dashboard (server/dash): session lifetime and the log-in rate limit.
    dash_session_days: int = Field(default=14, ge=1, description="dashboard session lifetime")
    dash_login_max_attempts: int = Field(
        default=10, ge=1, description="log-in tries per email and per client IP in the window"
    )
    dash_login_window_minutes: int = Field(default=15, ge=1)
    # Public side (server/public): redirect cache, click buffer, password gate, QR cache.
    link_cache_size: int = Field(
        default=100_000, ge=1, description="codes kept per worker (about 300 bytes each)"
    )
    link_negative_cache_ttl: float = Field(default=1.0, ge=0, description="unknown codes, seconds")
    click_recording: bool = True
    click_buffer_max: int = Field(default=200_000, ge=1, description="clicks held before dropping")
    click_batch_size: int = Field(default=5_000, ge=1)
    # Set by `kliqs serve` for its workers: clicks go to spool files there and the click
    # ingester process stores them (server/public/ingest.py). Unset: stored from a thread.
    click_spool_dir: Path | None = None
    # Header set by a trusted proxy with the visitor's IP (e.g. CF-Connecting-IP); the first
    # address of a comma list is used. Unset: the socket's peer address.
    client_ip_header: str | None = None
    unlock_cookie_ttl: int = Field(default=1800, ge=60, description="password unlock, seconds")
    gate_max_failures: int = Field(default=5, ge=1)
    gate_window_seconds: int = Field(default=900, ge=1)
    qr_cache_size: int = Field(default=1024, ge=1)

    @field_validator("public_base_url")
    @classmethod
    def _strip_slash(cls, value: str) -> str:
        return value.rstrip("/")

    @property
    def sqlalchemy_url(self) -> str:
        """The database URL, defaulting to a SQLite file in the data directory."""
        if self.database_url:
            return _normalise_db_url(self.database_url)
        return f"sqlite:///{(self.data_dir / 'kliqs.sqlite').resolve()}"

    @property
    def public_host_name(self) -> str:
        """The host (with port) of short URLs, used to refuse links back to ourselves."""
        return (urlsplit(self.public_base_url).netloc or "").lower()

    @property
    def all_reserved_slugs(self) -> frozenset[str]:
        extra = {s.strip().lower() for s in self.reserved_slugs.split(",") if s.strip()}
        return DEFAULT_RESERVED_SLUGS | extra


def _normalise_db_url(url: str) -> str:
    # Users write postgresql://; SQLAlchemy needs the driver named to pick psycopg 3.
    for prefix in ("postgres://", "postgresql://"):
        if url.startswith(prefix):
            return "postgresql+psycopg://" + url[len(prefix):]
    return url


@lru_cache(maxsize=1)
def get_settings() -> Settings:
    """The process-wide settings, built on first use (start-up), not at import."""
    return Settings()
