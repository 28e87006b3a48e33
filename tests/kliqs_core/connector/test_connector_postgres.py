"""The connector database on PostgreSQL: migrations, the pipeline, and races between workers."""

from __future__ import annotations

import asyncio
import threading
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any, TypeVar

import psycopg
import pytest
import sqlalchemy.exc
from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from sqlalchemy import event, func, select, text

from kliqs_core.connector import (
    ProductInput,
    accept_webhook,
    accept_webhook_async,
    reject_webhook_async,
)
from kliqs_core.connector.claims import claim_product
from kliqs_core.connector.db import VERSION_TABLE, Database, upgrade
from kliqs_core.connector.models import Base, Product, WebhookDelivery
from kliqs_core.connector.testing import (
    FakePlatform,
    TestRuntime,
    connector_runtime,
    in_one_batch,
)
from kliqs_core.connector.writer import writer_for
from kliqs_testing.databases import postgres_database

pytestmark = pytest.mark.postgres

T = TypeVar("T")


@pytest.fixture
def pg_rt(tmp_path: Path) -> Iterator[TestRuntime]:
    pg = postgres_database()
    try:
        url = pg.url.replace("postgresql://", "postgresql+psycopg://", 1)
        with connector_runtime(
            tmp_path, platform=FakePlatform(), connector_database_url=url
        ) as runtime:
            yield runtime
    finally:
        pg.drop()


def race(count: int, action: Callable[[int], T]) -> list[T]:
    """Run ``action(i)`` in ``count`` threads released at the same moment."""
    barrier = threading.Barrier(count)
    results: list[T] = []

    def run(i: int) -> None:
        barrier.wait()
        results.append(action(i))

    threads = [threading.Thread(target=run, args=(i,)) for i in range(count)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(30)
    return results


def test_migrations_match_the_models_and_run_concurrently(pg_rt: TestRuntime) -> None:
    assert pg_rt.database.engine.dialect.name == "postgresql"
    others = [Database(pg_rt.database.url) for _ in range(3)]
    race(3, lambda i: upgrade(others[i]))  # web and workers all migrate at start

    with pg_rt.database.engine.connect() as conn:
        context = MigrationContext.configure(conn, opts={"version_table": VERSION_TABLE})
        assert compare_metadata(context, Base.metadata) == []
    for database in others:
        database.dispose()


def test_the_pipeline_runs_on_postgres(pg_rt: TestRuntime) -> None:
    pg_rt.client.taken_slugs.add("kopi-gayo")
    accept_webhook(
        platform="fakeshop",
        shop="toko.test",
        delivery_id="1",
        topic="product.created",
        body=b"{}",
        product=ProductInput("1", "Kopi Gayo", "https://toko.test/p/1"),
    )

    assert [outcome.kind for outcome in pg_rt.run_queued()] == ["done"]
    with pg_rt.database.transaction() as session:
        row = session.scalars(select(Product)).one()
        assert (row.state, row.short_url) == ("notified", "https://kliqs.test/kopi-gayo-2")
        assert row.notified_at is not None and row.notified_at.tzinfo is not None


def test_racing_deliveries_of_a_new_product_store_one_product(pg_rt: TestRuntime) -> None:
    def deliver(i: int) -> bool:
        return accept_webhook(
            platform="fakeshop",
            shop="toko.test",
            delivery_id=f"d{i}",
            topic="product.updated",
            body=b"{}",
            product=ProductInput("5", "Teh Tarik"),
        ).queued

    queued = race(6, deliver)

    with pg_rt.database.transaction() as session:
        assert session.scalar(select(func.count()).select_from(Product)) == 1
        assert session.scalar(select(func.count()).select_from(WebhookDelivery)) == 6
    assert queued.count(True) == 1 and len(pg_rt.enqueued) == 1


def test_only_one_of_many_racing_workers_claims_a_product(pg_rt: TestRuntime) -> None:
    accepted = accept_webhook(
        platform="fakeshop",
        shop="toko.test",
        delivery_id="1",
        topic="t",
        body=b"",
        product=ProductInput("9", "Gula Aren"),
    )
    assert accepted.product_pk is not None
    pk = accepted.product_pk

    claims = race(
        8,
        lambda i: claim_product(
            pg_rt.database, pk, worker=f"w{i}", lease_seconds=60, grace_seconds=5
        ),
    )

    assert sum(claim is not None for claim in claims) == 1


def test_a_single_statement_runs_in_autocommit_and_a_transaction_does_not(
    pg_rt: TestRuntime,
) -> None:
    # One round trip for the claims' single statements; BEGIN/COMMIT where two must agree.
    database = pg_rt.database
    with database.statement() as conn:
        assert conn.connection.dbapi_connection.autocommit is True  # type: ignore[union-attr]
        assert conn.execute(select(func.count()).select_from(Product)).scalar_one() == 0
    with database.begin() as conn:
        assert conn.connection.dbapi_connection.autocommit is False  # type: ignore[union-attr]


def test_a_connection_dropped_while_idle_is_replaced_not_handed_out(
    pg_rt: TestRuntime, monkeypatch: pytest.MonkeyPatch
) -> None:
    # No ping at every checkout (a round trip per statement); a connection idle for a while
    # is pinged, and one the server dropped meanwhile (a restart) is replaced unseen.
    from kliqs_core.connector import db as connector_db

    database = pg_rt.database
    with database.statement() as conn:
        victim = conn.execute(text("SELECT pg_backend_pid()")).scalar_one()
    admin = Database(database.url)
    try:
        with admin.statement() as conn:
            assert conn.execute(text("SELECT pg_terminate_backend(:pid)"), {"pid": victim}
                                ).scalar_one() is True
    finally:
        admin.dispose()
    assert database.engine.pool.checkedin() == 1  # type: ignore[attr-defined]  # the victim
    monkeypatch.setattr(connector_db, "_IDLE_PING_SECONDS", 0.0)
    with database.statement() as conn:
        assert conn.execute(text("SELECT pg_backend_pid()")).scalar_one() != victim


def test_a_burst_of_threads_reuses_the_pooled_connections(pg_rt: TestRuntime) -> None:
    # The web app runs up to 40 handler threads. SQLAlchemy closes an overflow connection as
    # soon as it is returned, so each burst forked new PostgreSQL backends; the pool now keeps
    # every connection it opens and makes threads beyond its size wait for one.
    from kliqs_core.connector import db as connector_db

    database = pg_rt.database
    size = connector_db._PG_POOL_SIZE
    barrier = threading.Barrier(size)  # every pooled connection in use at once

    def backend_pid(_: int) -> int:
        with database.begin() as conn:
            pid = int(conn.execute(text("SELECT pg_backend_pid()")).scalar_one())
            if _ < size:
                barrier.wait(10)
            return pid

    first = set(race(size + 10, backend_pid))
    later = set(race(size + 10, backend_pid)) | set(race(size + 10, backend_pid))
    assert len(first) == size
    assert later <= first  # no backend was opened after the first burst
    assert database.engine.pool.checkedin() == size  # type: ignore[attr-defined]


def _statements(monkeypatch: pytest.MonkeyPatch) -> list[str]:
    """The first word of every statement psycopg sends (through SQLAlchemy or not)."""
    seen: list[str] = []
    execute = psycopg.Cursor.execute

    def spy(self: psycopg.Cursor[Any], query: Any, *args: Any, **kwargs: Any) -> Any:
        seen.append(str(query).split()[0].upper())
        return execute(self, query, *args, **kwargs)

    monkeypatch.setattr(psycopg.Cursor, "execute", spy)
    return seen


def _deliver(delivery_id: str | None, product_id: str = "7", title: str = "Kopi Luwak") -> Any:
    return accept_webhook(
        platform="fakeshop", shop="toko.test", delivery_id=delivery_id,
        topic="product.created", body=b'{"id": 7}',
        product=ProductInput(product_id, title, "https://toko.test/p/7", {"sku": "KL-1"}),
    )  # fmt: skip


def test_a_new_products_first_delivery_is_one_statement(
    pg_rt: TestRuntime, monkeypatch: pytest.MonkeyPatch
) -> None:
    # The webhook's answer waits on this: one round trip instead of BEGIN, 4 and COMMIT.
    seen = _statements(monkeypatch)
    accepted = _deliver("d1")
    assert seen == ["WITH"]
    assert (accepted.new, accepted.status.value, accepted.reason) == (True, "accepted", None)
    assert accepted.queued and pg_rt.enqueued == [accepted.product_pk]
    with pg_rt.database.transaction() as session:
        product = session.scalars(select(Product)).one()
        delivery = session.scalars(select(WebhookDelivery)).one()
    assert (product.id, product.title, product.product_url, product.data, product.state) == (
        accepted.product_pk, "Kopi Luwak", "https://toko.test/p/7", {"sku": "KL-1"}, "received")
    assert product.next_sweep_at is not None and product.next_sweep_at > product.created_at
    assert (delivery.delivery_id, delivery.status, delivery.product_pk, delivery.body) == (
        "d1", "accepted", accepted.product_pk, b'{"id": 7}')


def test_known_deliveries_and_products_take_the_general_path(pg_rt: TestRuntime) -> None:
    first = _deliver("d1")
    again = _deliver("d1")  # a re-delivery: the fast insert does nothing
    update = _deliver("d2", title="Kopi Luwak Asli")  # the same product, a new delivery
    assert (again.new, again.reason, again.product_pk) == (False, "duplicate_delivery",
                                                           first.product_pk)
    assert (update.new, update.reason, update.product_pk) == (True, "pending", first.product_pk)
    assert pg_rt.enqueued == [first.product_pk]
    with pg_rt.database.transaction() as session:
        assert session.scalars(select(Product.title)).all() == ["Kopi Luwak Asli"]
        assert session.scalar(select(func.count()).select_from(WebhookDelivery)) == 2


def test_one_delivery_sent_by_many_at_once_is_stored_once(pg_rt: TestRuntime) -> None:
    results = race(8, lambda _: _deliver("same"))
    assert sorted(r.new for r in results) == [False] * 7 + [True]
    assert {r.product_pk for r in results} == {results[0].product_pk}
    assert len(pg_rt.enqueued) == 1
    with pg_rt.database.transaction() as session:
        assert session.scalar(select(func.count()).select_from(Product)) == 1
        assert session.scalar(select(func.count()).select_from(WebhookDelivery)) == 1


def test_a_delivery_id_stored_without_a_product_is_not_used_again(pg_rt: TestRuntime) -> None:
    # An ignored delivery (a draft) has no product; the same id must not create one later.
    ignored = accept_webhook(platform="fakeshop", shop="toko.test", delivery_id="d9",
                             topic="product.created", body=b"{}", product=None,
                             ignore_reason="draft")  # fmt: skip
    again = _deliver("d9")
    assert ignored.status.value == "ignored"
    assert (again.new, again.reason, again.product_pk) == (False, "duplicate_delivery", None)
    with pg_rt.database.transaction() as session:
        assert session.scalar(select(func.count()).select_from(Product)) == 0


def test_the_last_step_and_its_deliveries_are_one_statement(
    pg_rt: TestRuntime, monkeypatch: pytest.MonkeyPatch
) -> None:
    # Notified product and processed deliveries commit together, in one round trip.
    first = _deliver("d1")
    _deliver("d2", title="Kopi Luwak Asli")  # a second delivery of the same product, pending
    seen: list[str] = []
    execute = psycopg.Cursor.execute

    def recorded(cursor: psycopg.Cursor[Any], sql: Any, *args: Any, **kwargs: Any) -> Any:
        seen.append(" ".join(str(sql).split()[:3]))
        return execute(cursor, sql, *args, **kwargs)

    # On the driver's cursor: the worker's claims are hot statements, below SQLAlchemy's events.
    monkeypatch.setattr(psycopg.Cursor, "execute", recorded)
    assert [outcome.kind for outcome in pg_rt.run_queued()] == ["done"]
    assert any(sql.startswith("UPDATE products") for sql in seen)  # the recorder sees them
    assert "WITH finished_product AS" in seen
    assert not any(sql.startswith("UPDATE webhook_inbox") for sql in seen)
    with pg_rt.database.transaction() as session:
        product = session.scalars(select(Product)).one()
        statuses = session.scalars(select(WebhookDelivery.status)).all()
    assert (product.id, product.state, product.claimed_by) == (first.product_pk, "notified", None)
    assert product.notified_at is not None and product.notified_at.tzinfo is not None
    assert statuses == ["processed", "processed"]


def _deliver_async(
    delivery_id: str, product_id: str = "7", database: Database | None = None
) -> Any:
    return accept_webhook_async(
        platform="fakeshop", shop="toko.test", delivery_id=delivery_id,
        topic="product.created", body=b'{"id": 7}', database=database,
        product=ProductInput(product_id, "Kopi Luwak", "https://toko.test/p/7", {"sku": "KL-1"}),
    )  # fmt: skip


def _one_batch(pg_rt: TestRuntime, calls: list[Any]) -> list[Any]:
    """Await ``calls`` as one batch of the runtime database's writer (see `in_one_batch`)."""

    async def batch() -> list[Any]:
        return await in_one_batch(writer_for(pg_rt.database), calls)

    return asyncio.run(batch())


def test_a_burst_from_the_event_loop_commits_in_few_transactions(pg_rt: TestRuntime) -> None:
    # 40 new products, a re-delivery of one and an update of another, all at once.
    commits: list[int] = []
    event.listen(pg_rt.database.engine, "commit", lambda _c: commits.append(1))

    async def burst() -> list[Any]:
        calls = [_deliver_async(f"d{n}", str(n)) for n in range(40)]
        return list(await asyncio.gather(*calls, _deliver_async("d3", "3"),
                                         _deliver_async("u5", "5")))  # fmt: skip

    *news, again, update = asyncio.run(burst())

    assert all(r.new and r.reason is None for r in news)
    assert (again.new, again.reason, again.product_pk) == (False, "duplicate_delivery",
                                                           news[3].product_pk)  # fmt: skip
    assert (update.new, update.reason, update.product_pk) == (True, "pending", news[5].product_pk)
    assert sorted(pg_rt.enqueued) == sorted(r.product_pk for r in news)
    assert len(commits) < 10  # one per batch, not one per webhook
    with pg_rt.database.transaction() as session:
        assert session.scalar(select(func.count()).select_from(Product)) == 40
        assert session.scalar(select(func.count()).select_from(WebhookDelivery)) == 41


def test_one_delivery_racing_through_two_processes_writers_is_stored_once(
    pg_rt: TestRuntime,
) -> None:
    # Two web processes (two databases, two writers) get the same delivery at once: one
    # batch fails on the unique key, and its jobs, run again alone, see the winner's rows.
    other = Database(pg_rt.database.url)

    async def both() -> list[Any]:
        copies = [_deliver_async("same", database=db)
                  for db in (pg_rt.database, other) for _ in range(4)]  # fmt: skip
        others = [_deliver_async(f"x{n}", f"x{n}", database=other) for n in range(4)]
        return list(await asyncio.gather(*copies, *others))

    try:
        results = asyncio.run(both())
    finally:
        other.dispose()
    copies, others = results[:8], results[8:]
    assert sorted(r.new for r in copies) == [False] * 7 + [True]
    assert {r.product_pk for r in copies} == {copies[0].product_pk}
    assert all(r.new and r.reason is None for r in others)
    with pg_rt.database.transaction() as session:
        assert session.scalar(select(func.count()).select_from(Product)) == 5
        assert session.scalar(select(func.count()).select_from(WebhookDelivery)) == 5


def test_a_connection_broken_under_the_fast_insert_is_not_handed_out_again(
    pg_rt: TestRuntime,
) -> None:
    # The fast insert talks to psycopg directly; a dead backend must still leave the pool.
    with pg_rt.database.statement() as conn:
        pid = conn.exec_driver_sql("SELECT pg_backend_pid()").scalar()
    with psycopg.connect(pg_rt.database.url.replace("+psycopg", ""), autocommit=True) as admin:
        admin.execute("SELECT pg_terminate_backend(%s)", (pid,))

    with pytest.raises(sqlalchemy.exc.OperationalError):
        _deliver("d1")
    accepted = _deliver("d1")  # a fresh connection, the same webhook delivered again

    assert accepted.new and accepted.queued
    with pg_rt.database.transaction() as session:
        assert session.scalar(select(func.count()).select_from(WebhookDelivery)) == 1


def test_a_batch_inserts_its_new_products_in_one_statement(
    pg_rt: TestRuntime, monkeypatch: pytest.MonkeyPatch
) -> None:
    # New products, a re-delivery and an update of one of them, and a rejected body, all in
    # one batch: one statement inserts the new ones; the known ones take the general path.
    seen = _statements(monkeypatch)
    calls = [_deliver_async("d1", "1"), _deliver_async("d2", "2"), _deliver_async("d1", "1"),
             _deliver_async("d3", "1"),
             reject_webhook_async(platform="fakeshop", shop="toko.test", delivery_id="bad",
                                  topic="product.created", body=b"{", reason="bad JSON")]

    first, second, again, update, rejected = _one_batch(pg_rt, calls)

    assert seen.count("WITH") == 1  # the batch's one multi-row insert
    assert first.new and second.new and first.product_pk != second.product_pk
    assert (again.new, again.reason, again.product_pk) == (False, "duplicate_delivery",
                                                           first.product_pk)  # fmt: skip
    assert (update.new, update.reason, update.product_pk) == (True, "pending", first.product_pk)
    assert rejected.status.value == "rejected"
    assert sorted(pg_rt.enqueued) == sorted([first.product_pk, second.product_pk])
    with pg_rt.database.transaction() as session:
        assert session.scalar(select(func.count()).select_from(WebhookDelivery)) == 4


def test_a_row_failing_the_batch_statement_fails_only_its_own_webhook(
    pg_rt: TestRuntime,
) -> None:
    # A delivery id longer than its column fails the batch's statement; the batch runs again
    # job by job, and only that webhook gets the error.
    calls = [_deliver_async("d1", "1"), _deliver_async("x" * 300, "2"), _deliver_async("d3", "3")]

    first, too_long, third = _one_batch(pg_rt, calls)

    assert isinstance(too_long, sqlalchemy.exc.DataError)
    assert first.new and third.new and sorted(pg_rt.enqueued) == sorted(
        [first.product_pk, third.product_pk])  # fmt: skip
    with pg_rt.database.transaction() as session:
        assert session.scalars(select(Product.product_id).order_by(Product.id)).all() == ["1", "3"]
