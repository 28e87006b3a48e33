"""Row-level claims and guarded state changes on products.

A worker first *claims* a product: one ``UPDATE ... WHERE`` that succeeds only if the product
is unfinished and nobody holds an unexpired lease on it. Every later write is guarded by
``claimed_by = <this run>`` (and the expected state), so if the lease ran out and another
worker took over, the slow one's writes match no row and it stops. The database does the
arbitration; this works the same on SQLite and PostgreSQL.
"""

from __future__ import annotations

from collections import namedtuple
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from functools import lru_cache
from typing import Any

from sqlalchemy import Row, Select, Table, bindparam, or_, select, update

from kliqs_core.connector.db import Database
from kliqs_core.connector.inbox import mark_processed
from kliqs_core.connector.models import (
    UNFINISHED_STATES,
    InboxStatus,
    Product,
    ProductState,
    WebhookDelivery,
    utcnow,
)
from kliqs_core.connector.records import ProductRecord
from kliqs_core.hotsql import HotStatement

__all__ = ["Claim", "claim_product", "resume_state"]

# Claims run as Core statements on a plain connection, each returning the row it wrote: a
# worker makes five per product, and an ORM session per statement (plus a read after each
# write) cost several times the statements themselves. The claim and the guarded updates are
# hot statements (`kliqs_core.hotsql`): SQLAlchemy's execution layer around them was a
# sixth of a worker's CPU per product (4.2 -> 3.5 ms, bench/pipeline).
_PRODUCTS: Table = Product.__table__  # type: ignore[assignment]
_DELIVERIES: Table = WebhookDelivery.__table__  # type: ignore[assignment]
_CLAIM = (
    update(_PRODUCTS)
    .where(_PRODUCTS.c.id == bindparam("g_pk"))
    # ORs, not IN: a hot statement is compiled once and cannot expand an IN list's parameter.
    .where(or_(*(_PRODUCTS.c.state == state.value for state in UNFINISHED_STATES)))
    .where(
        or_(
            _PRODUCTS.c.claim_until.is_(None),
            _PRODUCTS.c.claim_until < bindparam("g_now", type_=_PRODUCTS.c.claim_until.type),
        )
    )
    .returning(*_PRODUCTS.c)
)
_GUARDED_UPDATE = (
    update(_PRODUCTS)
    .where(_PRODUCTS.c.id == bindparam("g_pk"))
    .where(_PRODUCTS.c.claimed_by == bindparam("g_worker"))
    .where(_PRODUCTS.c.state == bindparam("g_state"))
    .returning(*_PRODUCTS.c)
)

#: A returned product row, read by attribute as :meth:`ProductRecord.from_row` does.
_ProductRow = namedtuple("_ProductRow", [column.key for column in _PRODUCTS.c])  # type: ignore[misc]
_HOT_CLAIM = HotStatement(_CLAIM, column_keys=["claimed_by", "claim_until", "next_sweep_at"])


@lru_cache(maxsize=32)
def _hot_update(columns: tuple[str, ...]) -> HotStatement:
    """The guarded update setting ``columns`` (its SET clause comes from the keys)."""
    return HotStatement(_GUARDED_UPDATE, column_keys=list(columns))


@lru_cache(maxsize=8)
def _hot_finish(columns: tuple[str, ...]) -> HotStatement:
    """PostgreSQL's last step (see `_finish_statement`) as a hot statement."""
    return HotStatement(_finish_statement(columns))


@lru_cache(maxsize=8)
def _finish_statement(columns: tuple[str, ...]) -> Select[Any]:
    """PostgreSQL: ``WITH product AS (UPDATE products ... RETURNING *), UPDATE webhook_inbox
    ... WHERE product_pk IN (SELECT id FROM product) SELECT * FROM product``: the last step's
    write and the deliveries marked processed in one round trip instead of four (``BEGIN``,
    two statements, ``COMMIT``). ``columns`` are the ones the step sets."""
    product = (
        _GUARDED_UPDATE.values({name: bindparam(name, type_=_PRODUCTS.c[name].type)
                                for name in columns})
        .cte("finished_product")
    )  # fmt: skip
    deliveries = (
        update(_DELIVERIES)
        .where(_DELIVERIES.c.product_pk.in_(select(product.c.id)))
        .where(_DELIVERIES.c.status == InboxStatus.ACCEPTED.value)
        .values(status=InboxStatus.PROCESSED.value)
        .cte("processed_deliveries")
    )
    return select(*product.c).add_cte(deliveries)


def resume_state(record: ProductRecord | Product) -> ProductState:
    """The step a stopped (parked/failed) product resumes at, from what it already has."""
    if not record.short_url:
        return ProductState.RECEIVED
    if record.written_back_at is None:
        return ProductState.SHORTENED
    if record.notified_at is None:
        return ProductState.WRITTEN_BACK
    return ProductState.NOTIFIED


def claim_product(
    database: Database, product_pk: int, *, worker: str, lease_seconds: float, grace_seconds: float
) -> Claim | None:
    """Claim an unfinished product for one run, or ``None`` if finished or held elsewhere."""
    now = utcnow()
    values = {
        "g_pk": product_pk,
        "g_now": now,
        "claimed_by": worker,
        "claim_until": now + timedelta(seconds=lease_seconds),
        "next_sweep_at": now + timedelta(seconds=grace_seconds),
    }
    with database.statement() as conn:
        row = _HOT_CLAIM.execute(conn, values).first()
    if row is None:
        return None
    claim = Claim(database, product_pk, worker, lease_seconds, grace_seconds)
    claim._held.record = _hot_record(row)
    return claim


@dataclass
class _Held:
    #: The row as this run last wrote it (every write returns it), or None: read it.
    record: ProductRecord | None = None
    released: bool = False


@dataclass(frozen=True)
class Claim:
    """One worker run's hold on one product; every write is guarded by it."""

    database: Database
    product_pk: int
    worker: str
    lease_seconds: float
    grace_seconds: float
    _held: _Held = field(default_factory=_Held, compare=False, repr=False)

    def load(self) -> ProductRecord:
        """The product as stored now.

        While the claim holds, only this run writes the row's pipeline columns, so the row
        each of its writes returned is what is stored; it is read again only when unknown.
        """
        if self._held.record is not None:
            return self._held.record
        with self.database.statement() as conn:
            row = conn.execute(select(_PRODUCTS).where(_PRODUCTS.c.id == self.product_pk)).first()
        if row is None:
            raise LookupError(f"product {self.product_pk} vanished")
        self._held.record = _record(row)
        return self._held.record

    def update(self, expected_state: str, **values: Any) -> bool:
        """Write ``values`` if still ours and in ``expected_state``; renews the lease.

        Returns False when the claim was lost (the caller must stop). Reaching ``notified``
        also lets go of the product: nothing is left to guard.
        """
        now = utcnow()
        values.setdefault("updated_at", now)
        values.update(
            claim_until=now + timedelta(seconds=self.lease_seconds),
            next_sweep_at=now + timedelta(seconds=self.grace_seconds),
            sweep_count=0,
        )
        finished = values.get("state") == ProductState.NOTIFIED.value
        if finished:
            values.update(claimed_by=None, claim_until=None)
        guard = {"g_pk": self.product_pk, "g_worker": self.worker, "g_state": expected_state}
        columns = tuple(sorted(values))
        if finished and not self.database.is_sqlite:
            # One statement: the product and its deliveries, atomic together.
            with self.database.statement() as conn:
                row = _hot_finish(columns).execute(conn, {**guard, **values}).first()
        else:
            # Finishing on SQLite also marks the deliveries: two statements, one transaction.
            with self.database.begin() if finished else self.database.statement() as conn:
                row = _hot_update(columns).execute(conn, {**guard, **values}).first()
                if row is not None and finished:
                    mark_processed(conn, self.product_pk)
        self._held.record = _hot_record(row) if row is not None else None
        self._held.released = finished and row is not None
        return row is not None

    def advance(self, from_state: ProductState, to_state: ProductState, **values: Any) -> bool:
        """Move to the next state, clearing the error trail of the step just passed."""
        return self.update(
            from_state.value,
            state=to_state.value,
            attempts=0,
            last_error_code=None,
            last_error_message=None,
            **values,
        )

    def retry_later(self, state: str, code: str, message: str, countdown: float) -> bool:
        """Count a transient failure and let go, with the sweeper held off past the countdown."""
        now = utcnow()
        return self._release(
            state,
            attempts=Product.attempts + 1,
            last_error_code=code,
            last_error_message=message[:2000],
            next_sweep_at=now + timedelta(seconds=countdown + self.grace_seconds),
        )

    def park(self, state: str, code: str, message: str, until: datetime | None) -> bool:
        """Park on a plan limit; the sweeper resumes it at ``until`` (never when ``None``)."""
        return self._release(
            state,
            state=ProductState.PARKED.value,
            last_error_code=code,
            last_error_message=message[:2000],
            parked_until=until,
            next_sweep_at=until,
        )

    def fail(self, state: str, code: str, message: str) -> bool:
        """Stop with an error code until an operator runs ``kliqs connect retry``."""
        return self._release(
            state,
            state=ProductState.FAILED.value,
            last_error_code=code,
            last_error_message=message[:2000],
            next_sweep_at=None,
        )

    def release(self) -> None:
        """Let go of the product (no-op if the claim was already lost or released)."""
        if self._held.released:
            return
        statement = (
            update(_PRODUCTS)
            .where(_PRODUCTS.c.id == self.product_pk)
            .where(_PRODUCTS.c.claimed_by == self.worker)
            .values(claimed_by=None, claim_until=None)
        )
        with self.database.statement() as conn:
            conn.execute(statement)
        self._held.released = True

    def _release(self, expected_state: str, **values: Any) -> bool:
        statement = (
            update(_PRODUCTS)
            .where(_PRODUCTS.c.id == self.product_pk)
            .where(_PRODUCTS.c.claimed_by == self.worker)
            .where(_PRODUCTS.c.state == expected_state)
            .values(claimed_by=None, claim_until=None, updated_at=utcnow(), **values)
        )
        with self.database.statement() as conn:
            changed = conn.execute(statement).rowcount == 1
        self._held.record = None
        self._held.released = True
        return bool(changed)


def _record(row: Row[Any]) -> ProductRecord:
    return ProductRecord.from_row(row)  # type: ignore[arg-type]  # a Row has the same attributes


def _hot_record(values: tuple[Any, ...]) -> ProductRecord:
    return ProductRecord.from_row(_ProductRow(*values))  # type: ignore[arg-type]
