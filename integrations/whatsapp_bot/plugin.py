"""The connector plug-in: ``KLIQS_CONNECTOR_PLUGINS=whatsapp`` (or ``whatsapp_bot``).

``setup()`` runs once in every web and worker process: it reads the ``WHATSAPP_*`` settings
(a missing one stops the start, named), then registers the webhook route, the notifier that
broadcasts each product, the Celery tasks, and a sweeper thread in each worker.
"""

from __future__ import annotations

import logging
from typing import Any

from celery import signals

from integrations.whatsapp_bot import context
from integrations.whatsapp_bot.broadcast import announce_product
from integrations.whatsapp_bot.receive import PLATFORM, handle_webhook
from integrations.whatsapp_bot.settings import WhatsAppSettingsError, load_settings
from kliqs_core.connector import (
    ConnectorConfigError,
    register_notifier,
    register_webhook_route,
    require,
    runtime,
)
from kliqs_core.connector.sweeper import Sweeper

__all__ = ["setup", "start_sweeper"]

log = logging.getLogger(__name__)

_sweepers: list[Sweeper] = []


def setup() -> None:
    """Check the settings and register the bot with the connector runtime."""
    try:
        settings = load_settings()
    except WhatsAppSettingsError as exc:
        raise ConnectorConfigError(f"{PLATFORM}: {exc}") from None
    # Outside the 24-hour window only an approved template may be sent: a broadcast needs one.
    require(settings, "WHATSAPP_TEMPLATE_NAME", platform=PLATFORM)
    context.configure(settings)
    import integrations.whatsapp_bot.tasks  # noqa: F401  (registers the Celery tasks)

    register_webhook_route(PLATFORM, handle_webhook, methods=("GET", "POST"))
    register_notifier(PLATFORM, announce_product)
    signals.worker_ready.connect(_on_worker_ready, weak=False, dispatch_uid="kliqs-whatsapp")
    signals.worker_shutdown.connect(_on_worker_shutdown, weak=False, dispatch_uid="kliqs-whatsapp")


def start_sweeper() -> Sweeper:
    """Start this process' bot sweeper thread (on the connector's interval and grace)."""
    from integrations.whatsapp_bot.sweeper import sweep

    settings = runtime.get_settings()

    def run_once() -> None:
        sweep(
            database=runtime.get_database(),
            enqueue=context.enqueue,
            grace_seconds=settings.connector_sweep_grace,
        )

    sweeper = Sweeper(run_once, interval=settings.connector_sweep_interval)
    sweeper.name = "kliqs-whatsapp-sweeper"
    sweeper.start()
    _sweepers.append(sweeper)
    return sweeper


def _on_worker_ready(**_: Any) -> None:
    # After the pool has forked, so no child inherits the thread.
    start_sweeper()


def _on_worker_shutdown(**_: Any) -> None:
    while _sweepers:
        _sweepers.pop().stop()
