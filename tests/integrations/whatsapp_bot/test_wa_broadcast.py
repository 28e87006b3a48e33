"""The notify step: one delivery per (product, active subscriber), one task each; rebroadcasts."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from wa_testkit import (
    Graph,
    Harness,
    add_product,
    add_subscriber,
    deliveries,
    wa_settings,
)

from integrations.whatsapp_bot import context
from integrations.whatsapp_bot.broadcast import (
    announce_product,
    find_product_pk,
    plan_broadcast,
    rebroadcast,
)
from integrations.whatsapp_bot.sending import send_delivery
from integrations.whatsapp_bot.subscribers import unsubscribe
from kliqs_core.connector import ProductInput, accept_webhook, register_notifier

A, B, C, D = "6281000000001", "6281000000002", "6281000000003", "6281000000004"


def test_only_active_subscribers_get_a_row_and_a_second_run_adds_nothing(harness: Harness) -> None:
    add_subscriber(harness.database, A)
    add_subscriber(harness.database, B, status="unsubscribed")
    add_subscriber(harness.database, C, status="undeliverable")
    add_subscriber(harness.database, D, status="contact")
    product = add_product(harness.database, "Kopi", "https://kliqs.me/kopi")

    first = plan_broadcast(harness.database, product, now=harness.clock(), grace_seconds=5)
    again = plan_broadcast(harness.database, product, now=harness.clock(), grace_seconds=5)

    assert first == again and len(first) == 1
    assert [(row.recipient, row.state) for row in deliveries(harness.database)] == [(A, "pending")]


@pytest.fixture
def wired(rt: Any) -> tuple[Any, Graph, list[tuple[str, int, float]]]:
    """The bot wired into the runtime as setup() does, with a Graph mock and a task list."""
    graph, queued = Graph(), []
    context.configure(wa_settings())
    context.set_client_factory(lambda _settings: graph.client())
    context.set_enqueuer(lambda task, pk, countdown: queued.append((task, pk, countdown)))
    register_notifier("whatsapp", announce_product)
    return rt, graph, queued


def _webhook(product_id: str, title: str) -> None:
    accept_webhook(
        platform="fakeshop", shop="toko.test", delivery_id=f"d{product_id}",
        topic="product.created", body=b"{}",
        product=ProductInput(product_id, title, f"https://toko.test/p/{product_id}"),
    )


def _send_all(queued: list[tuple[str, int, float]]) -> None:
    while queued:
        task, pk, _ = queued.pop(0)
        assert task == "send"
        assert send_delivery(context.get_bot(), pk).kind in ("sent", "skipped")


def test_the_notify_step_only_queues_one_task_per_recipient(wired: Any) -> None:
    rt, graph, queued = wired
    now = datetime.now(UTC)
    add_subscriber(rt.database, A, last_inbound_at=now - timedelta(hours=1))
    add_subscriber(rt.database, B, last_inbound_at=now - timedelta(days=3))
    _webhook("1", "VPS Murah")

    [outcome] = rt.run_queued()

    assert outcome.kind == "done"
    assert graph.requests == []  # nothing is sent inside the notify step
    assert [task for task, _, _ in queued] == ["send", "send"]
    _send_all(queued)
    by_to = {body["to"]: body for body in graph.bodies}
    text = "Produk baru tersedia:\nVPS Murah\nhttps://kliqs.test/vps-murah"
    assert by_to[A]["text"]["body"] == text
    assert [p["text"] for p in by_to[B]["template"]["components"][0]["parameters"]] == [
        "VPS Murah", "https://kliqs.test/vps-murah"
    ]


def test_stop_is_honoured_by_the_next_broadcast(wired: Any) -> None:
    rt, graph, queued = wired
    add_subscriber(rt.database, A)
    add_subscriber(rt.database, B)
    _webhook("1", "Kopi Gayo")
    rt.run_queued()
    _send_all(queued)
    with rt.database.transaction() as session:
        unsubscribe(session, B, source="whatsapp", now=datetime.now(UTC))

    _webhook("2", "Teh Tarik")
    rt.run_queued()
    _send_all(queued)

    sent = [(b["to"], json.dumps(b)) for b in graph.bodies]
    assert [to for to, body in sent if "Kopi Gayo" in body] == [A, B]
    assert [to for to, body in sent if "Teh Tarik" in body] == [A]


def test_rebroadcast_sends_to_those_who_did_not_get_it(harness: Harness) -> None:
    for phone in (A, B, C):
        add_subscriber(harness.database, phone)
    product = add_product(harness.database, "Kopi", "https://kliqs.me/kopi")
    ids = plan_broadcast(harness.database, product, now=harness.clock(), grace_seconds=5)
    from wa_testkit import graph_error

    harness.graph.answers += [graph_error(131049)]  # A: withheld (fails, still subscribed)
    for delivery_id in ids:
        send_delivery(harness.bot, delivery_id)
    add_subscriber(harness.database, D)  # subscribed since
    assert [r.state for r in deliveries(harness.database)] == ["failed", "sent", "sent"]

    result = rebroadcast(harness.database, product, grace_seconds=5)

    rows = {row.recipient: row for row in deliveries(harness.database)}
    assert result.delivered == 2
    assert sorted(rows[r].id for r in (A, D)) == sorted(result.queued)
    assert rows[A].state == rows[D].state == "pending" and rows[A].attempts == 0
    for delivery_id in result.queued:
        send_delivery(harness.bot, delivery_id)
    assert [b["to"] for b in harness.graph.bodies] == [A, B, C, A, D]


def test_rebroadcast_needs_a_shortened_product(harness: Harness) -> None:
    product = add_product(harness.database, "Draft", None, state="received")

    with pytest.raises(LookupError):
        rebroadcast(harness.database, product, grace_seconds=5)


def test_products_are_found_by_row_id_or_platform_reference(harness: Harness) -> None:
    pk = add_product(harness.database, "Kopi", "https://kliqs.me/kopi")
    with harness.database.transaction() as session:
        from kliqs_core.connector.models import Product

        row = session.get(Product, pk)
        assert row is not None
        ref = row.product_id

    assert find_product_pk(harness.database, str(pk)) == pk
    assert find_product_pk(harness.database, f"fakeshop:{ref}") == pk
    assert find_product_pk(harness.database, f"fakeshop:toko.test:{ref}") == pk
    assert find_product_pk(harness.database, "fakeshop:nope") is None
