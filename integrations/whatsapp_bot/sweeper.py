"""The bot's sweeper: re-queue rows whose task was lost (a killed worker, a refused publish).

Runs in every ``kliqs worker`` next to the connector's own sweeper, on the same interval and
grace. Each row says when it is due (``next_sweep_at``: the claim's end plus the resend grace
for a send whose outcome is unknown, the countdown plus the grace for a retry, the grace for a
fresh row); a sweep pushes that time further each time it re-queues the same row, so a long but
healthy queue is not flooded with copies. Copies are harmless: every task claims its row first.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import select, update

from integrations.whatsapp_bot.models import (
    Delivery,
    DeliveryState,
    InboundRecord,
    InboundState,
    StatusRecord,
)
from kliqs_core.connector.db import Database
from kliqs_core.connector.models import utcnow

__all__ = ["SweepReport", "sweep"]

log = logging.getLogger(__name__)

_MAX_DOUBLINGS = 6
_OPEN_DELIVERIES = (DeliveryState.PENDING.value, DeliveryState.SENDING.value)


@dataclass(frozen=True)
class SweepReport:
    """Row ids one sweep queued again."""

    sends: tuple[int, ...] = ()
    inbound: tuple[int, ...] = ()
    statuses: tuple[int, ...] = ()


def sweep(
    *,
    database: Database,
    enqueue: Callable[[str, int, float], object],
    grace_seconds: float,
    now: datetime | None = None,
    limit: int = 500,
) -> SweepReport:
    """Queue again what is due and unclaimed: deliveries, inbound messages, statuses."""
    now = now or utcnow()
    open_ = Delivery.state.in_(_OPEN_DELIVERIES)
    sends = _due(database, Delivery, open_, now, grace_seconds, limit)
    received = InboundRecord.state == InboundState.RECEIVED.value
    inbound = _due(database, InboundRecord, received, now, grace_seconds, limit)
    statuses = _unprocessed_statuses(database, now - timedelta(seconds=grace_seconds), limit)
    for task, ids in (("send", sends), ("inbound", inbound), ("status", statuses)):
        for row_id in ids:
            enqueue(task, row_id, 0.0)
    if sends or inbound or statuses:
        log.info("whatsapp sweeper queued sends %s, inbound %s, statuses %s",
                 sends, inbound, statuses)  # fmt: skip
    return SweepReport(tuple(sends), tuple(inbound), tuple(statuses))


def _due(
    database: Database, model: Any, open_: Any, now: datetime, grace: float, limit: int
) -> list[int]:
    with database.transaction() as session:
        ids = list(
            session.scalars(
                select(model.id)
                .where(open_, model.next_sweep_at <= now)
                .order_by(model.next_sweep_at)
                .limit(limit)
            )
        )
    return [row_id for row_id in ids if _touch(database, model, row_id, open_, now, grace)]


def _touch(
    database: Database, model: Any, row_id: int, open_: Any, now: datetime, grace: float
) -> bool:
    # Guarded by the same conditions: of two sweepers racing, one queues the row.
    with database.transaction() as session:
        count = getattr(session.get(model, row_id), "sweep_count", 0)
        wait = grace * 2 ** min(count + 1, _MAX_DOUBLINGS)
        values: dict[str, Any] = {"next_sweep_at": now + timedelta(seconds=wait)}
        if hasattr(model, "sweep_count"):
            values["sweep_count"] = model.sweep_count + 1
        statement = (
            update(model)
            .where(model.id == row_id, open_, model.next_sweep_at <= now)
            .values(**values)
        )
        return bool(session.execute(statement).rowcount == 1)  # type: ignore[attr-defined]


def _unprocessed_statuses(database: Database, before: datetime, limit: int) -> list[int]:
    with database.transaction() as session:
        query = (
            select(StatusRecord.id)
            .where(StatusRecord.processed_at.is_(None), StatusRecord.received_at <= before)
            .order_by(StatusRecord.id)
            .limit(limit)
        )
        return list(session.scalars(query))
