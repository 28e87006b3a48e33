"""Broadcast a product to the subscribers: one delivery row per (product, recipient), one task each.

The connector's notify step calls :func:`announce_product` once the short URL is written back.
It only plans and queues: a ``pending`` row for every active subscriber (the unique
(product, recipient) constraint makes a second run add nothing), then one Celery task per row,
so a slow or failing recipient never holds up the others. The sends themselves are in
:mod:`~integrations.whatsapp_bot.sending`.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import select
from sqlalchemy.orm import Session

from integrations.whatsapp_bot import context
from integrations.whatsapp_bot.inbox import insert_ignore
from integrations.whatsapp_bot.models import Delivery, DeliveryState
from integrations.whatsapp_bot.subscribers import active_phones
from kliqs_core.connector.db import Database
from kliqs_core.connector.models import Product, utcnow
from kliqs_core.connector.records import ProductRecord

__all__ = [
    "Rebroadcast",
    "announce_product",
    "find_product_pk",
    "plan_broadcast",
    "queue_sends",
    "rebroadcast",
]

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class Rebroadcast:
    """What an operator's broadcast found: rows queued, and how many already got the message."""

    queued: tuple[int, ...]
    delivered: int


def announce_product(product: ProductRecord) -> None:
    """The notifier: plan the product's deliveries and queue a send task for each pending one."""
    bot = context.get_bot()
    pending = plan_broadcast(
        bot.database, product.id, now=bot.clock(), grace_seconds=bot.sweep_grace
    )
    queue_sends(pending, bot.enqueue)
    log.info("whatsapp: product %s queued for %d recipient(s)", product.id, len(pending))


def plan_broadcast(
    database: Database, product_pk: int, *, now: datetime, grace_seconds: float
) -> list[int]:
    """Add a pending delivery for each active subscriber without one; the pending row ids."""
    with database.transaction() as session:
        _add_missing(session, product_pk, now, grace_seconds)
        query = select(Delivery.id).where(
            Delivery.product_pk == product_pk, Delivery.state == DeliveryState.PENDING.value
        )
        return list(session.scalars(query.order_by(Delivery.id)))


def _add_missing(session: Session, product_pk: int, now: datetime, grace: float) -> None:
    rows = [
        {
            "product_pk": product_pk,
            "recipient": phone,
            "state": DeliveryState.PENDING.value,
            "attempts": 0,
            "template_fallback": False,
            "sweep_count": 0,
            "next_sweep_at": now + timedelta(seconds=grace),
            "created_at": now,
            "updated_at": now,
        }
        for phone in active_phones(session)
    ]
    insert_ignore(session, Delivery, rows, ["product_pk", "recipient"])


def queue_sends(
    delivery_ids: list[int],
    enqueue: Callable[[str, int, float], object],
    progress: Callable[[int], None] | None = None,
) -> int:
    """One send task per delivery; how many were queued (a refusal is left to the sweeper)."""
    queued = 0
    for delivery_id in delivery_ids:
        if enqueue("send", delivery_id, 0.0) is not False:
            queued += 1
        if progress is not None:
            progress(1)
    return queued


def rebroadcast(database: Database, product_pk: int, *, grace_seconds: float) -> Rebroadcast:
    """Send again to active subscribers who did not get the product (operator command).

    Failed and skipped deliveries of people who are active subscribers now start over, and
    people who subscribed since get a new row. Sent ones (unless Meta said failed) are left.
    """
    now = utcnow()
    with database.transaction() as session:
        product = session.get(Product, product_pk)
        if product is None or not product.short_url:
            raise LookupError(f"product {product_pk} has no short URL yet")
        _add_missing(session, product_pk, now, grace_seconds)
        active = set(active_phones(session))
        query = select(Delivery).where(Delivery.product_pk == product_pk)
        delivered = 0
        for row in session.scalars(query):
            if row.state == DeliveryState.SENT:
                delivered += 1
            elif row.recipient in active and _did_not_get_it(row):
                _start_over(row, now, grace_seconds)
        pending = session.scalars(
            select(Delivery.id).where(
                Delivery.product_pk == product_pk, Delivery.state == DeliveryState.PENDING.value
            )
        )
        return Rebroadcast(tuple(pending), delivered)


def _did_not_get_it(row: Delivery) -> bool:
    return row.state in (DeliveryState.FAILED, DeliveryState.SKIPPED)


def _start_over(row: Delivery, now: datetime, grace: float) -> None:
    row.state = DeliveryState.PENDING.value
    row.attempts, row.template_fallback, row.sweep_count = 0, False, 0
    row.wamid = row.status = row.status_at = row.token = None
    row.error_code = row.error_message = None
    row.next_sweep_at, row.updated_at = now + timedelta(seconds=grace), now


def find_product_pk(database: Database, ref: str) -> int | None:
    """A product by row id, ``platform:product_id`` or ``platform:shop:product_id``."""
    with database.transaction() as session:
        if ref.isdigit():
            row = session.get(Product, int(ref))
            return row.id if row is not None else None
        platform, _, rest = ref.partition(":")
        shop, _, product_id = rest.rpartition(":")
        query = select(Product.id).where(
            Product.platform == platform, Product.product_id == product_id
        )
        if shop:
            query = query.where(Product.shop == shop)
        found = list(session.scalars(query.limit(2)))
        return found[0] if len(found) == 1 else None

