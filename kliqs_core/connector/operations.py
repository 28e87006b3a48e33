"""Operator actions on stored products: list them, count them, and send stopped ones back.

The ``kliqs connect status`` and ``kliqs connect retry`` commands (and any status page) call
these; they take a database and return plain records.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from kliqs_core.connector.claims import resume_state
from kliqs_core.connector.db import Database
from kliqs_core.connector.models import UNFINISHED_STATES, Product, ProductState, utcnow
from kliqs_core.connector.records import ProductRecord

__all__ = ["RetryResult", "list_products", "prepare_retry", "state_counts"]


def list_products(
    database: Database,
    *,
    platform: str | None = None,
    state: str | None = None,
    limit: int = 50,
) -> list[ProductRecord]:
    """The most recently updated products, optionally of one platform and/or state."""
    query = select(Product).order_by(Product.updated_at.desc(), Product.id.desc()).limit(limit)
    if platform:
        query = query.where(Product.platform == platform)
    if state:
        query = query.where(Product.state == state)
    with database.transaction() as session:
        return [ProductRecord.from_row(row) for row in session.scalars(query)]


def state_counts(database: Database, *, platform: str | None = None) -> dict[str, int]:
    """How many products are in each state."""
    query = select(Product.state, func.count()).group_by(Product.state)
    if platform:
        query = query.where(Product.platform == platform)
    with database.transaction() as session:
        return {state: int(count) for state, count in session.execute(query)}


@dataclass(frozen=True)
class RetryResult:
    """Products to queue again, and references that matched nothing or were already done."""

    queued: tuple[int, ...]
    not_found: tuple[str, ...] = ()
    already_done: tuple[int, ...] = ()


def prepare_retry(
    database: Database, *, refs: Iterable[str] = (), all_failed: bool = False
) -> RetryResult:
    """Reset failed/parked products to the step they stopped at; the caller queues them.

    ``refs`` are product row ids (``12``), ``platform:product_id`` or
    ``platform:shop:product_id``. ``all_failed`` takes every failed and parked product.
    An unfinished product given by reference is queued as it is (a stuck one).
    """
    queued: list[int] = []
    missing: list[str] = []
    done: list[int] = []
    with database.transaction() as session:
        rows = [(ref, _find(session, ref)) for ref in refs]
        if all_failed:
            stopped = (ProductState.FAILED.value, ProductState.PARKED.value)
            rows += [
                ("", row)
                for row in session.scalars(select(Product).where(Product.state.in_(stopped)))
            ]
        for ref, row in rows:
            if row is None:
                missing.append(ref)
            elif row.state == ProductState.NOTIFIED:
                done.append(row.id)
            elif row.id not in queued:
                _reset(row)
                queued.append(row.id)
    return RetryResult(tuple(queued), tuple(missing), tuple(done))


def _reset(row: Product) -> None:
    now = utcnow()
    if row.state not in UNFINISHED_STATES:
        row.state = resume_state(row).value
    row.attempts = 0
    row.parked_until = None
    row.updated_at = now
    row.next_sweep_at = now
    row.sweep_count = 0


def _find(session: Session, ref: str) -> Product | None:
    if ref.isdigit():
        return session.get(Product, int(ref))
    platform, _, rest = ref.partition(":")
    # The shop may hold a colon (host:port); the product id is what follows the last one.
    shop, _, product_id = rest.rpartition(":")
    query = select(Product).where(Product.platform == platform, Product.product_id == product_id)
    if shop:
        query = query.where(Product.shop == shop)
    found = list(session.scalars(query.limit(2)))
    return found[0] if len(found) == 1 else None
