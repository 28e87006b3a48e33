"""The connector database on PostgreSQL: migrations, the pipeline, and races between workers."""

from __future__ import annotations

import threading
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import TypeVar

import pytest
from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from sqlalchemy import func, select, text

from kliqs_core.connector import ProductInput, accept_webhook
from kliqs_core.connector.claims import claim_product
from kliqs_core.connector.db import VERSION_TABLE, Database, upgrade
from kliqs_core.connector.models import Base, Product, WebhookDelivery
from kliqs_core.connector.testing import FakePlatform, TestRuntime, connector_runtime
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
