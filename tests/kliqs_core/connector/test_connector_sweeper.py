"""The sweeper re-queues stored but unfinished products, and prunes the embedded broker."""

from __future__ import annotations

import threading
from datetime import UTC, datetime, timedelta
from pathlib import Path

from kombu import Connection
from sqlalchemy import update

from kliqs_core.connector import ProductInput, accept_webhook
from kliqs_core.connector.claims import claim_product
from kliqs_core.connector.models import Product
from kliqs_core.connector.sweeper import Sweeper, prune_broker, sweep
from kliqs_core.connector.testing import TestRuntime
from kliqs_core.errors import ApiLimitReachedError, ShortlinkLimitReachedError

SHOP = "toko.test"


def store(product_id: str = "1") -> int:
    accepted = accept_webhook(
        platform="fakeshop",
        shop=SHOP,
        delivery_id=product_id,
        topic="product.created",
        body=b"{}",
        product=ProductInput(product_id, "Kopi Gayo", f"https://{SHOP}/p/{product_id}"),
    )
    assert accepted.product_pk is not None
    return accepted.product_pk


def later(seconds: float) -> datetime:
    return datetime.now(UTC) + timedelta(seconds=seconds)


def run_sweep(
    rt: TestRuntime, at: datetime, grace: float = 10.0
) -> tuple[tuple[int, ...], tuple[int, ...], list[int]]:
    queued: list[int] = []
    report = sweep(database=rt.database, enqueue=queued.append, grace_seconds=grace, now=at)
    return report.requeued, report.resumed, queued


def test_a_stored_product_whose_task_was_lost_is_requeued_after_the_grace(rt: TestRuntime) -> None:
    pk = store()
    rt.enqueued.clear()  # the message is lost (connector killed, worker SIGKILLed)

    assert run_sweep(rt, later(1))[2] == []  # still within the grace given at receipt
    requeued, _, queued = run_sweep(rt, later(rt.settings.connector_sweep_grace + 1))
    assert requeued == (pk,) and queued == [pk]
    rt.enqueued.extend(queued)
    rt.run_queued()
    assert len(rt.client.calls) == 1


def test_requeues_of_the_same_product_back_off(rt: TestRuntime) -> None:
    pk = store()
    start = later(rt.settings.connector_sweep_grace + 1)

    assert run_sweep(rt, start, grace=10)[0] == (pk,)
    assert run_sweep(rt, start + timedelta(seconds=15), grace=10)[0] == ()  # waits 2 x grace now
    assert run_sweep(rt, start + timedelta(seconds=21), grace=10)[0] == (pk,)
    assert run_sweep(rt, start + timedelta(seconds=50), grace=10)[0] == ()  # then 4 x grace


def test_a_product_under_a_live_claim_is_left_alone_until_the_lease_ends(rt: TestRuntime) -> None:
    pk = store()
    assert (
        claim_product(rt.database, pk, worker="dead", lease_seconds=300, grace_seconds=0)
        is not None
    )

    assert run_sweep(rt, later(60))[0] == ()
    assert run_sweep(rt, later(301))[0] == (pk,)  # the worker died holding it: lease over


def test_finished_failed_and_shortlink_parked_products_are_not_requeued(rt: TestRuntime) -> None:
    done, failed, parked = store("1"), store("2"), store("3")
    rt.enqueued.clear()
    rt.enqueued.append(done)
    rt.run_queued()
    with rt.database.transaction() as session:
        session.execute(update(Product).where(Product.id == failed).values(state="failed"))
    rt.client.errors.append(ShortlinkLimitReachedError(403, "SHORTLINK_LIMIT_REACHED", "full"))
    rt.enqueued.append(parked)
    rt.run_queued()

    assert run_sweep(rt, later(10_000)) == ((), (), [])


def test_a_product_parked_on_the_api_limit_resumes_after_the_reset(rt: TestRuntime) -> None:
    reset = later(3600).replace(microsecond=0)
    rt.client.errors.append(
        ApiLimitReachedError(
            429,
            "API_LIMIT_REACHED",
            "limit",
            headers={"X-RateLimit-Reset": str(int(reset.timestamp()))},
        )
    )
    pk = store()
    rt.run_queued()

    assert run_sweep(rt, reset - timedelta(seconds=1))[1] == ()
    _, resumed, queued = run_sweep(rt, reset + timedelta(seconds=1))
    assert resumed == (pk,) and queued == [pk]
    rt.enqueued.extend(queued)
    assert [o.kind for o in rt.run_queued()] == ["done"]


def test_prune_broker_deletes_only_delivered_messages(tmp_path: Path) -> None:
    url = f"sqla+sqlite:///{tmp_path / 'broker.sqlite'}"
    with Connection(url) as conn:
        queue = conn.SimpleQueue("kliqs-test")
        queue.put({"n": 1})
        queue.put({"n": 2})
        queue.get(timeout=1).ack()
        queue.close()

    assert prune_broker(url) == 1
    assert prune_broker(url) == 0
    with Connection(url) as conn:
        queue = conn.SimpleQueue("kliqs-test")
        assert queue.get(timeout=1).payload == {"n": 2}
        queue.close()


def test_prune_broker_ignores_other_brokers_and_missing_tables(tmp_path: Path) -> None:
    assert prune_broker("redis://localhost:6379/0") == 0
    assert prune_broker(f"sqla+sqlite:///{tmp_path / 'empty.sqlite'}") == 0


def test_sweeper_thread_sweeps_at_once_then_every_interval_and_survives_errors() -> None:
    calls: list[float] = []
    twice = threading.Event()

    def once() -> None:
        calls.append(1)
        if len(calls) == 2:
            twice.set()
        raise RuntimeError("database away")

    sweeper = Sweeper(once, interval=0.05)
    sweeper.start()
    assert twice.wait(5)
    sweeper.stop()
    assert not sweeper.is_alive() and len(calls) >= 2
