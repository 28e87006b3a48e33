"""The sweeper: re-queue what was stored but not finished, and prune the embedded broker.

A product is stored before the webhook's 200 and queued after; the queue alone can lose it (a
connector killed between commit and publish, a worker SIGKILLed while it held messages: the
SQLAlchemy transport has no visibility timeout, and on Redis ack emulation is off). So every
``connector_sweep_interval`` seconds the worker re-queues each unfinished product that nobody
holds a live claim on and whose ``next_sweep_at`` has passed. That time is pushed ``grace``
seconds ahead on every bit of progress, past the countdown on a retry, and doubles each time a
sweep re-queues the same product, so a long but healthy queue is not flooded with copies.
Copies are harmless anyway: a run claims the product first and finds nothing to do if it is
finished.

Products parked on ``API_LIMIT_REACHED`` resume when their ``parked_until`` (the monthly
reset) has passed; ``SHORTLINK_LIMIT_REACHED`` needs an operator (``kliqs connect retry``).
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import create_engine, inspect, or_, select, text, update

from kliqs_core.connector.claims import resume_state
from kliqs_core.connector.db import Database
from kliqs_core.connector.models import UNFINISHED_STATES, Product, ProductState, utcnow

__all__ = ["SweepReport", "Sweeper", "prune_broker", "sweep"]

log = logging.getLogger(__name__)

_UNFINISHED = [state.value for state in UNFINISHED_STATES]
_MAX_BACKOFF_DOUBLINGS = 6


@dataclass(frozen=True)
class SweepReport:
    """The products one sweep queued: stale unfinished ones, and parked ones resumed."""

    requeued: tuple[int, ...] = ()
    resumed: tuple[int, ...] = ()


def sweep(
    *,
    database: Database,
    enqueue: Callable[[int], object],
    grace_seconds: float,
    now: datetime | None = None,
    limit: int = 500,
) -> SweepReport:
    """Queue stale unfinished products and parked products whose limit has reset."""
    now = now or utcnow()
    requeued = [
        pk for pk in _stale(database, now, limit) if _touch(database, pk, now, grace_seconds)
    ]
    resumed = [
        pk
        for pk in _reset_parked(database, now, limit)
        if _resume(database, pk, now, grace_seconds)
    ]
    for pk in requeued + resumed:
        try:
            enqueue(pk)
        except Exception:
            # Touched but not queued: the next sweep after the (doubled) wait tries again.
            log.warning("sweeper could not queue product %s", pk, exc_info=True)
    if requeued or resumed:
        log.info("sweeper queued products %s, resumed parked %s", requeued, resumed)
    return SweepReport(tuple(requeued), tuple(resumed))


def _stale(database: Database, now: datetime, limit: int) -> list[int]:
    with database.transaction() as session:
        return list(
            session.scalars(
                select(Product.id)
                .where(Product.state.in_(_UNFINISHED))
                .where(or_(Product.next_sweep_at.is_(None), Product.next_sweep_at <= now))
                .where(or_(Product.claim_until.is_(None), Product.claim_until < now))
                .order_by(Product.next_sweep_at)
                .limit(limit)
            )
        )


def _touch(database: Database, pk: int, now: datetime, grace: float) -> bool:
    # Guarded by the same conditions, so of two sweepers racing only one queues the product.
    with database.transaction() as session:
        row = session.get(Product, pk)
        if row is None:
            return False
        wait = grace * 2 ** min(row.sweep_count + 1, _MAX_BACKOFF_DOUBLINGS)
        statement = (
            update(Product)
            .where(Product.id == pk)
            .where(Product.state.in_(_UNFINISHED))
            .where(or_(Product.next_sweep_at.is_(None), Product.next_sweep_at <= now))
            .where(or_(Product.claim_until.is_(None), Product.claim_until < now))
            .values(
                next_sweep_at=now + timedelta(seconds=wait), sweep_count=Product.sweep_count + 1
            )
        )
        return bool(session.execute(statement).rowcount == 1)  # type: ignore[attr-defined]


def _reset_parked(database: Database, now: datetime, limit: int) -> list[int]:
    with database.transaction() as session:
        return list(
            session.scalars(
                select(Product.id)
                .where(Product.state == ProductState.PARKED.value)
                .where(Product.parked_until.is_not(None))
                .where(Product.parked_until <= now)
                .limit(limit)
            )
        )


def _resume(database: Database, pk: int, now: datetime, grace: float) -> bool:
    with database.transaction() as session:
        row = session.get(Product, pk)
        if row is None or row.state != ProductState.PARKED or row.parked_until is None:
            return False
        row.state = resume_state(row).value
        row.parked_until = None
        row.attempts = 0
        row.updated_at = now
        row.next_sweep_at = now + timedelta(seconds=grace)
        return True


def prune_broker(broker_url: str) -> int:
    """Delete delivered messages from the SQLAlchemy transport's table; 0 for other brokers.

    kombu marks a fetched message invisible and never deletes it; a redelivery is a new row,
    so invisible rows are never read again.
    """
    if not broker_url.startswith("sqla+"):
        return 0
    engine = create_engine(broker_url.removeprefix("sqla+"), connect_args={"timeout": 30})
    try:
        if not inspect(engine).has_table("kombu_message"):
            return 0
        with engine.begin() as conn:
            result = conn.execute(
                text("DELETE FROM kombu_message WHERE visible = :no"), {"no": False}
            )
            return int(result.rowcount)
    finally:
        engine.dispose()


class Sweeper(threading.Thread):
    """A daemon thread that sweeps (and prunes the broker) every ``interval`` seconds."""

    def __init__(self, run_once: Callable[[], object], *, interval: float) -> None:
        super().__init__(name="kliqs-connector-sweeper", daemon=True)
        self._run_once = run_once
        self._interval = interval
        self._stopped = threading.Event()

    def run(self) -> None:
        """Sweep until stopped; an error is logged, never fatal."""
        # Sweep at once too: after a crash the products left behind wait no longer than needed.
        while True:
            try:
                self._run_once()
            except Exception:
                log.exception("sweep failed; trying again in %.0fs", self._interval)
            if self._stopped.wait(self._interval):
                return

    def stop(self, timeout: float | None = 5.0) -> None:
        """Ask the thread to stop and wait for it."""
        self._stopped.set()
        if self.is_alive():
            self.join(timeout)
