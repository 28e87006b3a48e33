"""The connector runtime's settings, read from the environment (pydantic-settings).

Every variable starts with ``KLIQS_``; the connector's own knobs with ``KLIQS_CONNECTOR_``.
Settings are built once at start-up (:func:`kliqs_core.connector.runtime.get_settings`), never at
import. :func:`require` is the one way a platform plug-in checks its own settings at start.
"""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path
from typing import Any, Literal

from pydantic import Field, SecretStr
from pydantic_settings import BaseSettings, SettingsConfigDict

__all__ = ["ConnectorConfigError", "ConnectorSettings", "SlugStrategy", "require"]

SlugStrategy = Literal["none", "title"]


class ConnectorConfigError(RuntimeError):
    """A setting the connector (or an enabled platform) needs is missing or wrong."""


class ConnectorSettings(BaseSettings):
    """Connector settings; each field's environment variable is ``KLIQS_<FIELD NAME>``."""

    model_config = SettingsConfigDict(env_prefix="KLIQS_", extra="ignore")

    #: Base URL of the Kliqs API (``KLIQS_API_URL``).
    api_url: str = "https://api.kliqs.me"
    #: Bearer key the worker shortens with (``KLIQS_API_KEY``).
    api_key: SecretStr | None = None
    #: Celery broker; unset means the embedded SQLite broker in the data directory.
    broker_url: str | None = None
    #: Data directory for the embedded SQLite files (``KLIQS_DATA_DIR``).
    data_dir: Path = Path("kliqs-data")
    #: SQLAlchemy URL of the connector's database; unset means ``<data dir>/connector.sqlite``.
    connector_database_url: str | None = None
    #: ``title`` (slugified product title, ``-2``, ``-3``... on conflicts) or ``none`` (generated).
    connector_slug_strategy: SlugStrategy = "title"
    #: Slugs tried from the title before falling back to a generated code.
    connector_slug_max_attempts: int = Field(default=10, ge=1, le=99)
    #: Seconds between two sweeps (the sweeper re-queues stored but unfinished products).
    connector_sweep_interval: float = Field(default=30.0, gt=0)
    #: Seconds a product may go without progress before the sweeper re-queues it.
    connector_sweep_grace: float = Field(default=120.0, ge=0)
    #: Seconds a worker's claim on a product lasts; longer than any single step.
    connector_lease_seconds: float = Field(default=300.0, gt=0)
    #: First retry delay in seconds for network errors and 5xx; doubles each attempt.
    connector_retry_base: float = Field(default=5.0, gt=0)
    #: Longest retry delay in seconds (a retry held by a worker that dies is swept after it).
    connector_retry_cap: float = Field(default=600.0, gt=0, le=3000)
    #: Transient failures in a row before a product fails for good (``kliqs connect retry``).
    connector_max_attempts: int = Field(default=10, ge=1)
    #: Largest webhook body accepted, in bytes (413 above it).
    connector_max_body_bytes: int = Field(default=1_048_576, gt=0)
    #: Most product ids the web process sends in one task message when webhooks arrive
    #: together (1: a message per product; a slow shop then delays no other product).
    connector_publish_batch: int = Field(default=16, ge=1, le=100)
    #: How much lower a worker's CPU priority is than the web process' (``nice``, 0-19).
    #: Where both share a machine, a webhook's answer comes first: a shop waits for it
    #: (WooCommerce disables a webhook after 5 failed deliveries in a row); the queue can wait.
    connector_worker_nice: int = Field(default=10, ge=0, le=19)
    #: Celery queue of the connector's tasks (separates deployments sharing one broker).
    connector_queue: str = "kliqs-connector"
    #: Comma-separated plug-in modules to load; a bare name ``woocommerce`` means
    #: ``integrations.woocommerce`` when that exists. Listing a platform is what enables it.
    connector_plugins: str = ""

    @property
    def database_url(self) -> str:
        """The connector database URL, defaulting to SQLite in the data directory."""
        if self.connector_database_url:
            return self.connector_database_url
        return f"sqlite:///{(self.data_dir / 'connector.sqlite').resolve()}"

    @property
    def effective_broker_url(self) -> str:
        """The Celery broker URL, defaulting to the embedded SQLAlchemy/SQLite transport."""
        if self.broker_url:
            return self.broker_url
        return f"sqla+sqlite:///{(self.data_dir / 'broker.sqlite').resolve()}"

    @property
    def plugin_modules(self) -> tuple[str, ...]:
        """The plug-in names as listed (see :func:`kliqs_core.connector.runtime.load_plugins`)."""
        return tuple(name for part in self.connector_plugins.split(",") if (name := part.strip()))


def require(settings: BaseSettings | Mapping[str, Any], *names: str, platform: str = "") -> None:
    """Fail with one message naming every missing setting among ``names``.

    ``names`` are environment variable names (``"WOOCOMMERCE_URL"``) or field names (``"url"``);
    on a settings object the model's ``env_prefix`` is stripped to find the field. ``None``, an
    empty string and an empty secret count as missing. Call it from a plug-in's ``setup()``.
    """
    missing = [name for name in names if _is_blank(_lookup(settings, name))]
    if missing:
        who = f"{platform}: " if platform else ""
        raise ConnectorConfigError(f"{who}missing setting(s): {', '.join(missing)}")


def _lookup(settings: BaseSettings | Mapping[str, Any], name: str) -> Any:
    if isinstance(settings, Mapping):
        return settings.get(name)
    prefix = str(settings.model_config.get("env_prefix") or "").upper()
    field = name[len(prefix) :] if prefix and name.upper().startswith(prefix) else name
    return getattr(settings, field.lower(), None)


def _is_blank(value: Any) -> bool:
    if isinstance(value, SecretStr):
        value = value.get_secret_value()
    return value is None or (isinstance(value, str) and not value.strip())
