"""The bot's Celery tasks, on the connector's app. Each takes a row id, never a credential."""

from __future__ import annotations

import logging
from typing import Any

from integrations.whatsapp_bot import context
from integrations.whatsapp_bot.bot import handle_inbound
from integrations.whatsapp_bot.sending import send_delivery
from integrations.whatsapp_bot.statuses import apply_status
from kliqs_core.connector.celery_app import celery_app

__all__ = ["TASKS", "apply_status_task", "handle_inbound_task", "send_delivery_task"]

log = logging.getLogger(__name__)


@celery_app.task(  # type: ignore[untyped-decorator]
    name="kliqs.whatsapp.send_delivery", bind=True, max_retries=None
)
def send_delivery_task(self: Any, delivery_id: int) -> str:
    """Send one (product, recipient) message; back off with a countdown when told to.

    The attempt count lives in the row, so it survives the sweeper's re-queues.
    """
    outcome = send_delivery(context.get_bot(), delivery_id)
    log.debug("whatsapp delivery %s: %s", delivery_id, outcome.kind)
    if outcome.kind in ("retry", "wait"):
        raise self.retry(countdown=outcome.countdown)
    return outcome.kind


@celery_app.task(  # type: ignore[untyped-decorator]
    name="kliqs.whatsapp.handle_inbound", bind=True, max_retries=None
)
def handle_inbound_task(self: Any, message_pk: int) -> str:
    """Act on one inbound message and reply."""
    outcome = handle_inbound(context.get_bot(), message_pk, attempt=self.request.retries + 1)
    if outcome.kind == "retry":
        raise self.retry(countdown=outcome.countdown)
    return outcome.kind


@celery_app.task(name="kliqs.whatsapp.apply_status")  # type: ignore[untyped-decorator]
def apply_status_task(status_pk: int) -> bool:
    """Apply one stored status; queue the template resend a 131047 asks for."""
    bot = context.get_bot()
    applied = apply_status(bot.database, status_pk, now=bot.clock())
    if applied.resend is not None:
        bot.enqueue("send", applied.resend, 0.0)
    return applied.changed


#: What :func:`integrations.whatsapp_bot.context.enqueue` queues, by name.
TASKS = {
    "send": send_delivery_task,
    "inbound": handle_inbound_task,
    "status": apply_status_task,
}
