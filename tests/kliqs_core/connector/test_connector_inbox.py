"""The webhook inbox: stored before the 200, de-duplicated, queued after the commit.

Every test runs twice: through :func:`accept_webhook` from the calling thread, and through
:func:`accept_webhook_async` on an event loop (the batch writer's path); both must store and
answer the same.
"""

from __future__ import annotations

import asyncio
from datetime import UTC
from collections.abc import Callable
from typing import Any

import pytest
from sqlalchemy import event, func, select

from kliqs_core.connector import (
    Accepted,
    InboxStatus,
    ProductInput,
    accept_webhook,
    accept_webhook_async,
    reject_webhook,
    reject_webhook_async,
)
from kliqs_core.connector.inbox import find_product
from kliqs_core.connector.models import Product, WebhookDelivery
from kliqs_core.connector.testing import TestRuntime

SHOP = "toko.test"

Deliver = Callable[..., Accepted]


@pytest.fixture(params=["thread", "event loop"])
def way(request: pytest.FixtureRequest) -> str:
    return str(request.param)


@pytest.fixture
def deliver(way: str) -> Deliver:
    def deliver(
        delivery: str | None, *, title: str = "Sepatu Lari", product_id: str = "7", **kw: Any
    ) -> Accepted:
        args: dict[str, Any] = dict(
            platform="fakeshop",
            shop=SHOP,
            delivery_id=delivery,
            topic="product.updated",
            body=b'{"id": 7}',
            product=ProductInput(product_id, title, f"https://{SHOP}/p/{product_id}"),
        )
        args.update(kw)
        if way == "thread":
            return accept_webhook(**args)
        return asyncio.run(accept_webhook_async(**args))

    return deliver


@pytest.fixture
def reject(way: str) -> Deliver:
    def reject(**args: Any) -> Accepted:
        if way == "thread":
            return reject_webhook(**args)
        return asyncio.run(reject_webhook_async(**args))

    return reject


def count(rt: TestRuntime, model: type[object]) -> int:
    with rt.database.transaction() as session:
        return int(session.scalar(select(func.count()).select_from(model)) or 0)


def test_same_delivery_twice_stores_one_row_and_queues_the_product_once(
    rt: TestRuntime, deliver: Deliver
) -> None:
    first = deliver("wc-1")
    again = deliver("wc-1")

    assert first.new and first.queued and first.status == InboxStatus.ACCEPTED
    assert not again.new and not again.queued and again.reason == "duplicate_delivery"
    assert count(rt, WebhookDelivery) == 1 and count(rt, Product) == 1
    assert rt.enqueued == [first.product_pk]


def test_raw_body_is_stored_byte_for_byte(rt: TestRuntime, deliver: Deliver) -> None:
    deliver("wc-1", body=b'{"name": "Sepatu \xc3\xa9"}')

    with rt.database.transaction() as session:
        assert session.scalars(select(WebhookDelivery.body)).one() == b'{"name": "Sepatu \xc3\xa9"}'


def test_a_second_delivery_for_a_waiting_product_refreshes_it_without_queueing(
    rt: TestRuntime, deliver: Deliver
) -> None:
    first = deliver("wc-1", title="Sepatu")
    second = deliver("wc-2", title="Sepatu Lari Pria")

    assert second.new and not second.queued and second.reason == "pending"
    assert second.product_pk == first.product_pk
    assert count(rt, WebhookDelivery) == 2 and count(rt, Product) == 1
    stored = find_product("fakeshop", SHOP, "7")
    assert stored is not None and stored.title == "Sepatu Lari Pria"
    assert rt.enqueued == [first.product_pk]


def test_deliveries_without_an_id_are_deduplicated_per_product(
    rt: TestRuntime, deliver: Deliver
) -> None:
    deliver(None)
    deliver(None)

    assert count(rt, WebhookDelivery) == 2 and count(rt, Product) == 1
    assert len(rt.enqueued) == 1


def test_an_update_after_the_product_is_done_is_ignored(rt: TestRuntime, deliver: Deliver) -> None:
    deliver("wc-1")
    rt.run_queued()

    echo = deliver("wc-2", title="changed by our own write-back")
    assert echo.status == InboxStatus.IGNORED and echo.reason == "already_done"
    assert rt.enqueued == [] and len(rt.client.calls) == 1
    stored = find_product("fakeshop", SHOP, "7")
    assert stored is not None and stored.title == "Sepatu Lari"


def test_no_product_stores_an_ignored_delivery_and_queues_nothing(
    rt: TestRuntime, deliver: Deliver
) -> None:
    result = deliver("wc-1", product=None, ignore_reason="not published (draft)")

    assert result.status == InboxStatus.IGNORED and result.reason == "not published (draft)"
    assert count(rt, Product) == 0 and rt.enqueued == []


def test_rejected_delivery_is_stored_once(rt: TestRuntime, reject: Deliver) -> None:
    first = reject(
        platform="fakeshop", shop=SHOP, delivery_id="d", topic="t", body=b"{", reason="bad JSON"
    )
    again = reject(
        platform="fakeshop", shop=SHOP, delivery_id="d", topic="t", body=b"{", reason="bad JSON"
    )

    assert first.status == InboxStatus.REJECTED and first.new and not again.new
    assert count(rt, WebhookDelivery) == 1 and count(rt, Product) == 0


def test_a_broken_queue_still_stores_the_webhook(rt: TestRuntime, deliver: Deliver) -> None:
    def broken(_: int) -> None:
        raise ConnectionError("broker down")

    result = deliver("wc-1", enqueue=broken)

    assert result.new and not result.queued
    stored = find_product("fakeshop", SHOP, "7")
    assert stored is not None and stored.state == "received"  # the sweeper will queue it


def test_processed_marks_the_accepted_deliveries_of_a_done_product(
    rt: TestRuntime, deliver: Deliver
) -> None:
    deliver("wc-1")
    deliver("wc-2")
    deliver("wc-3", product=None, ignore_reason="other topic")
    rt.run_queued()

    with rt.database.transaction() as session:
        statuses = list(
            session.scalars(select(WebhookDelivery.status).order_by(WebhookDelivery.id))
        )
    assert statuses == ["processed", "processed", "ignored"]


def test_a_new_products_first_delivery_is_two_inserts_on_sqlite(
    rt: TestRuntime, deliver: Deliver
) -> None:
    # No reads before the writes: the product insert does nothing for a known product or
    # delivery id (then the general path decides), else the delivery row follows.
    # What reaches SQLite itself (the inserts go to the sqlite3 connection directly).
    seen: list[str] = []
    event.listen(rt.database.engine, "checkout", lambda driver, *_: driver.set_trace_callback(
        lambda sql: seen.append(sql.split()[0].upper())))  # fmt: skip

    data = {"sku": "SL-42", "harga": "Rp 150.000"}
    first = deliver("wc-1", product=ProductInput("7", "Sepatu Lari", f"https://{SHOP}/p/7", data))
    assert seen == ["BEGIN", "INSERT", "INSERT", "COMMIT"]
    # Stored as SQLAlchemy stores them: read back through the ORM as written.
    product = find_product("fakeshop", SHOP, "7", database=rt.database)
    assert product is not None and product.data == data and product.title == "Sepatu Lari"
    assert product.created_at is not None and product.created_at.tzinfo == UTC
    again, other = deliver("wc-1"), deliver("wc-2")

    assert first.new and first.queued and first.status == InboxStatus.ACCEPTED
    assert (again.new, again.reason) == (False, "duplicate_delivery")
    assert (other.new, other.reason, other.product_pk) == (True, "pending", first.product_pk)
    assert count(rt, WebhookDelivery) == 2 and count(rt, Product) == 1
    with rt.database.transaction() as session:
        delivery = session.scalars(select(WebhookDelivery).order_by(WebhookDelivery.id)).first()
    assert delivery is not None
    assert (delivery.status, delivery.product_pk, delivery.body) == (
        "accepted", first.product_pk, b'{"id": 7}')
    assert delivery.received_at == product.created_at
