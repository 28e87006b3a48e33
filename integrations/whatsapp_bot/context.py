"""The bot's process-wide state: settings, the Graph API client, the token bucket, queueing.

Built lazily, once per process (a forked Celery child builds its own client), never at import.
Tests replace parts with :func:`set_client_factory` and :func:`set_enqueuer`; :func:`reset`
forgets everything.
"""

from __future__ import annotations

import logging
import os
import random
import threading
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime

from integrations.whatsapp_bot.client import WhatsAppClient
from integrations.whatsapp_bot.ratelimit import TokenBucket
from integrations.whatsapp_bot.settings import WhatsAppSettings, load_settings
from kliqs_core.connector import runtime
from kliqs_core.connector.db import Database
from kliqs_core.connector.models import utcnow

__all__ = [
    "Bot",
    "ClientFactory",
    "Enqueuer",
    "bucket_redis_url",
    "configure",
    "enqueue",
    "get_bot",
    "get_settings",
    "reset",
    "set_bucket",
    "set_client_factory",
    "set_enqueuer",
]

log = logging.getLogger(__name__)

ClientFactory = Callable[[WhatsAppSettings], WhatsAppClient]
#: ``enqueue(task, row_id, countdown)``; ``task`` is ``send``, ``inbound`` or ``status``.
Enqueuer = Callable[[str, int, float], object]


@dataclass(frozen=True)
class Bot:
    """Everything a bot operation needs, in one place (tests build their own)."""

    settings: WhatsAppSettings
    database: Database
    client: Callable[[], WhatsAppClient]
    bucket: TokenBucket | None
    #: Seconds the connector's sweeper waits before it re-queues lost work.
    sweep_grace: float = 120.0
    clock: Callable[[], datetime] = utcnow
    jitter: Callable[[], float] = field(default=random.random)
    #: ``enqueue(task, row_id, countdown)``: queue follow-up work (default: :func:`enqueue`).
    enqueue: Callable[[str, int, float], object] = field(default=lambda *a: enqueue(*a))


_lock = threading.RLock()
_settings: WhatsAppSettings | None = None
_client: WhatsAppClient | None = None
_client_factory: ClientFactory | None = None
_bucket: TokenBucket | None = None
_bucket_set = False
_enqueuer: Enqueuer | None = None


def configure(settings: WhatsAppSettings) -> None:
    """Use these settings (the plug-in's ``setup()`` calls it); drops the client and bucket."""
    global _settings, _client, _bucket, _bucket_set
    with _lock:
        _settings, _client = settings, None
        if not _bucket_set:
            _bucket = None


def get_settings() -> WhatsAppSettings:
    """The configured settings, else read from the environment."""
    global _settings
    with _lock:
        if _settings is None:
            _settings = load_settings()
        return _settings


def set_client_factory(factory: ClientFactory | None) -> None:
    """Build the Graph API client with ``factory(settings)`` (``None``: the real one)."""
    global _client_factory, _client
    with _lock:
        _client_factory, _client = factory, None


def get_client() -> WhatsAppClient:
    """This process' Graph API client (no limiter of its own: senders take tokens first)."""
    global _client
    with _lock:
        if _client is None:
            settings = get_settings()
            if _client_factory is not None:
                _client = _client_factory(settings)
            else:
                _client = WhatsAppClient(
                    settings.phone_number_id,
                    settings.access_token.get_secret_value(),
                    api_version=settings.api_version,
                    graph_url=settings.graph_url,
                    timeout=settings.timeout,
                )
        return _client


def bucket_redis_url(settings: WhatsAppSettings, broker_url: str | None) -> str | None:
    """``WHATSAPP_REDIS_URL``, else the Celery broker when it is Redis, else None (in-process)."""
    if settings.redis_url:
        return settings.redis_url
    if broker_url and broker_url.startswith(("redis://", "rediss://")):
        return broker_url
    return None


def set_bucket(bucket: TokenBucket | None) -> None:
    """Use this bucket (tests); ``None`` goes back to building one from the settings."""
    global _bucket, _bucket_set
    with _lock:
        _bucket, _bucket_set = bucket, bucket is not None


def get_bucket() -> TokenBucket:
    """The token bucket of this phone number: shared through Redis when there is one."""
    global _bucket
    with _lock:
        if _bucket is None:
            settings = get_settings()
            url = bucket_redis_url(settings, runtime.get_settings().broker_url)
            _bucket = TokenBucket(
                settings.send_rate,
                settings.bucket_capacity,
                redis_url=url,
                key=settings.phone_number_id,
            )
            log.info(
                "whatsapp: %.1f msg/s (of %s), burst %.0f, bucket %s",
                settings.send_rate,
                settings.mps,
                settings.bucket_capacity,
                "in Redis" if url else "in this process",
            )
        return _bucket


def get_bot() -> Bot:
    """A :class:`Bot` over the runtime's database and this process' client and bucket."""
    return Bot(
        settings=get_settings(),
        database=runtime.get_database(),
        client=get_client,
        bucket=get_bucket(),
        sweep_grace=runtime.get_settings().connector_sweep_grace,
    )


def set_enqueuer(enqueuer: Enqueuer | None) -> None:
    """Queue bot work with ``enqueuer`` (``None``: the Celery tasks)."""
    global _enqueuer
    with _lock:
        _enqueuer = enqueuer


def enqueue(task: str, row_id: int, countdown: float = 0.0) -> bool:
    """Queue ``task`` for a row; False (logged) when the broker refused: the sweeper will."""
    try:
        if _enqueuer is not None:
            _enqueuer(task, row_id, countdown)
        else:
            from integrations.whatsapp_bot.tasks import TASKS

            options = {"countdown": countdown} if countdown > 0 else {}
            TASKS[task].apply_async(args=(row_id,), **options)
    except Exception:
        log.warning("whatsapp: could not queue %s %s; the sweeper will", task, row_id,
                    exc_info=True)  # fmt: skip
        return False
    return True


def reset() -> None:
    """Forget everything (tests)."""
    global _settings, _client, _client_factory, _bucket, _bucket_set, _enqueuer
    with _lock:
        if _client is not None:
            _client.close()
        _settings = _client = _client_factory = _bucket = _enqueuer = None
        _bucket_set = False


def _after_fork_in_child() -> None:
    # A prefork child must not share the parent's HTTP connections or Redis sockets.
    global _lock, _client, _bucket
    _lock = threading.RLock()
    _client = None
    if not _bucket_set:
        _bucket = None


os.register_at_fork(after_in_child=_after_fork_in_child)
