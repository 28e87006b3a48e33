"""Row-level claims and guarded state changes on products.

A worker first *claims* a product: one ``UPDATE ... WHERE`` that succeeds only if the product
is unfinished and nobody holds an unexpired lease on it. Every later write is guarded by
``claimed_by = <this run>`` (and the expected state), so if the lease ran out and another
worker took over, the slow one's writes match no row and it stops. The database does the
arbitration; this works the same on SQLite and PostgreSQL.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import or_, update

from kliqs_core.connector.db import Database
from kliqs_core.connector.inbox import mark_processed
from kliqs_core.connector.models import UNFINISHED_STATES, Product, ProductState, utcnow
from kliqs_core.connector.records import ProductRecord

__all__ = ["Claim", "claim_product", "resume_state"]


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
    statement = (
        update(Product)
        .where(Product.id == product_pk)
        .where(Product.state.in_([state.value for state in UNFINISHED_STATES]))
        .where(or_(Product.claim_until.is_(None), Product.claim_until < now))
        .values(
            claimed_by=worker,
            claim_until=now + timedelta(seconds=lease_seconds),
            next_sweep_at=now + timedelta(seconds=grace_seconds),
        )
    )
    with database.transaction() as session:
        claimed = session.execute(statement).rowcount == 1  # type: ignore[attr-defined]
    if not claimed:
        return None
    return Claim(database, product_pk, worker, lease_seconds, grace_seconds)


@dataclass(frozen=True)
class Claim:
    """One worker run's hold on one product; every write is guarded by it."""

    database: Database
    product_pk: int
    worker: str
    lease_seconds: float
    grace_seconds: float

    def load(self) -> ProductRecord:
        """The product as stored now."""
        with self.database.transaction() as session:
            row = session.get(Product, self.product_pk)
            if row is None:
                raise LookupError(f"product {self.product_pk} vanished")
            return ProductRecord.from_row(row)

    def update(self, expected_state: str, **values: Any) -> bool:
        """Write ``values`` if still ours and in ``expected_state``; renews the lease.

        Returns False when the claim was lost (the caller must stop).
        """
        now = utcnow()
        values.setdefault("updated_at", now)
        statement = (
            update(Product)
            .where(Product.id == self.product_pk)
            .where(Product.claimed_by == self.worker)
            .where(Product.state == expected_state)
            .values(
                claim_until=now + timedelta(seconds=self.lease_seconds),
                next_sweep_at=now + timedelta(seconds=self.grace_seconds),
                sweep_count=0,
                **values,
            )
        )
        with self.database.transaction() as session:
            changed = session.execute(statement).rowcount == 1  # type: ignore[attr-defined]
            if changed and values.get("state") == ProductState.NOTIFIED.value:
                mark_processed(session, self.product_pk)
        return bool(changed)

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
        statement = (
            update(Product)
            .where(Product.id == self.product_pk)
            .where(Product.claimed_by == self.worker)
            .values(claimed_by=None, claim_until=None)
        )
        with self.database.transaction() as session:
            session.execute(statement)

    def _release(self, expected_state: str, **values: Any) -> bool:
        statement = (
            update(Product)
            .where(Product.id == self.product_pk)
            .where(Product.claimed_by == self.worker)
            .where(Product.state == expected_state)
            .values(claimed_by=None, claim_until=None, updated_at=utcnow(), **values)
        )
        with self.database.transaction() as session:
            return bool(session.execute(statement).rowcount == 1)  # type: ignore[attr-defined]
