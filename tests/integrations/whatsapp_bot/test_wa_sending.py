"""One (product, recipient) send: text or template, claims, backoff and permanent errors."""

from __future__ import annotations

from datetime import timedelta

import httpx
import pytest
from wa_testkit import (
    TEMPLATE,
    Harness,
    add_product,
    add_subscriber,
    deliveries,
    graph_error,
    subscriber,
)

from integrations.whatsapp_bot.broadcast import plan_broadcast
from integrations.whatsapp_bot.models import StatusRecord
from integrations.whatsapp_bot.sending import PAIR_LIMIT_SECONDS, send_delivery

IN = "6281111111111"
OUT = "6282222222222"
TITLE, URL = "VPS Murah", "https://kliqs.me/vps-murah"


def _plan(h: Harness, *, in_window: bool = True, phone: str = IN) -> int:
    last = h.clock() - (timedelta(hours=2) if in_window else timedelta(hours=30))
    add_subscriber(h.database, phone, last_inbound_at=last)
    product = add_product(h.database, TITLE, URL)
    [delivery_id] = plan_broadcast(h.database, product, now=h.clock(), grace_seconds=5)
    return delivery_id


def test_inside_the_window_the_exact_product_text_is_sent(harness: Harness) -> None:
    delivery_id = _plan(harness, in_window=True)

    assert send_delivery(harness.bot, delivery_id).kind == "sent"

    [body] = harness.graph.bodies
    assert body["to"] == IN and body["type"] == "text"
    assert body["text"]["body"] == "Produk baru tersedia:\nVPS Murah\nhttps://kliqs.me/vps-murah"
    assert body["biz_opaque_callback_data"].startswith("kliqs:")
    [row] = deliveries(harness.database)
    assert (row.state, row.kind, row.wamid, row.attempts) == ("sent", "text", "wamid.TEST000001", 1)


def test_outside_the_window_the_template_carries_title_and_short_url(harness: Harness) -> None:
    delivery_id = _plan(harness, in_window=False)

    assert send_delivery(harness.bot, delivery_id).kind == "sent"

    [body] = harness.graph.bodies
    assert body["type"] == "template"
    assert body["template"] == {
        "name": TEMPLATE,
        "language": {"code": "id"},
        "components": [
            {"type": "body", "parameters": [
                {"type": "text", "text": TITLE}, {"type": "text", "text": URL}
            ]}
        ],
    }
    assert deliveries(harness.database)[0].kind == "template"


def test_a_sent_delivery_is_never_sent_again(harness: Harness) -> None:
    delivery_id = _plan(harness)
    send_delivery(harness.bot, delivery_id)

    assert send_delivery(harness.bot, delivery_id).kind == "done"
    assert len(harness.graph.requests) == 1


def test_a_live_claim_keeps_a_second_run_from_sending(harness: Harness) -> None:
    delivery_id = _plan(harness)
    harness.graph.answers.append(httpx.ReadTimeout("slow"))
    assert send_delivery(harness.bot, delivery_id).kind == "wait"  # outcome unknown

    # Another copy of the task right after: the row waits for its status or the grace.
    assert send_delivery(harness.bot, delivery_id).kind == "wait"
    assert len(harness.graph.requests) == 1


def test_throughput_error_backs_off_then_delivers(harness: Harness) -> None:
    delivery_id = _plan(harness)
    harness.graph.answers.append(graph_error(130429, 429))

    first = send_delivery(harness.bot, delivery_id)

    assert (first.kind, first.code) == ("retry", 130429)
    assert first.countdown == pytest.approx(0.75)  # base 1 s, half fixed + half jitter(0.5)
    row = deliveries(harness.database)[0]
    assert (row.state, row.error_code, row.attempts) == ("pending", 130429, 1)
    assert send_delivery(harness.bot, delivery_id).kind == "sent"
    assert len(harness.graph.requests) == 2


def test_backoff_doubles_and_pair_limit_waits_at_least_six_seconds(harness: Harness) -> None:
    delivery_id = _plan(harness)
    harness.graph.answers += [graph_error(131056), graph_error(130429, 429)]
    harness.graph.answers += [graph_error(1, 503)]

    pair = send_delivery(harness.bot, delivery_id)
    throughput = send_delivery(harness.bot, delivery_id)
    server = send_delivery(harness.bot, delivery_id)

    assert pair.countdown >= PAIR_LIMIT_SECONDS
    assert throughput.countdown == pytest.approx(1.5)  # attempt 2: ceiling 2 s
    assert (server.kind, server.countdown) == ("retry", pytest.approx(3.0))


def test_transient_errors_give_up_after_max_attempts(harness: Harness) -> None:
    delivery_id = _plan(harness)
    harness.graph.answers += [graph_error(130429, 429) for _ in range(4)]

    kinds = [send_delivery(harness.bot, delivery_id).kind for _ in range(4)]

    assert kinds == ["retry", "retry", "retry", "failed"]
    row = deliveries(harness.database)[0]
    assert (row.state, row.error_code) == ("failed", 130429)
    assert send_delivery(harness.bot, delivery_id).kind == "done"


@pytest.mark.parametrize("code", [100, 190, 132001])
def test_permanent_errors_fail_without_retry(harness: Harness, code: int) -> None:
    delivery_id = _plan(harness)
    harness.graph.answers.append(graph_error(code))

    outcome = send_delivery(harness.bot, delivery_id)

    assert (outcome.kind, outcome.code) == ("failed", code)
    assert send_delivery(harness.bot, delivery_id).kind == "done"
    assert len(harness.graph.requests) == 1
    assert subscriber(harness.database, IN).status == "active"


def test_131047_on_text_is_resent_once_as_the_template(harness: Harness) -> None:
    delivery_id = _plan(harness, in_window=True)
    harness.graph.answers.append(graph_error(131047))

    assert send_delivery(harness.bot, delivery_id).kind == "retry"
    assert send_delivery(harness.bot, delivery_id).kind == "sent"

    assert [b["type"] for b in harness.graph.bodies] == ["text", "template"]
    row = deliveries(harness.database)[0]
    assert row.template_fallback and row.kind == "template"


def test_131026_marks_the_number_undeliverable(harness: Harness) -> None:
    delivery_id = _plan(harness)
    harness.graph.answers.append(graph_error(131026))

    assert send_delivery(harness.bot, delivery_id).kind == "failed"
    assert subscriber(harness.database, IN).status == "undeliverable"


def test_131050_is_an_opt_out(harness: Harness) -> None:
    delivery_id = _plan(harness)
    harness.graph.answers.append(graph_error(131050))

    assert send_delivery(harness.bot, delivery_id).kind == "failed"
    row = subscriber(harness.database, IN)
    assert (row.status, row.opt_out_source) == ("unsubscribed", "131050")


def test_refused_connection_is_retried_because_nothing_left(harness: Harness) -> None:
    delivery_id = _plan(harness)
    harness.graph.answers.append(httpx.ConnectError("refused"))

    assert send_delivery(harness.bot, delivery_id).kind == "retry"
    assert deliveries(harness.database)[0].state == "pending"


def test_lost_answer_is_adopted_from_the_status_webhook(harness: Harness) -> None:
    delivery_id = _plan(harness)
    harness.graph.answers.append(httpx.ReadTimeout("answer lost"))
    send_delivery(harness.bot, delivery_id)
    callback = harness.graph.bodies[0]["biz_opaque_callback_data"]
    with harness.database.transaction() as session:  # Meta's "sent" status carries it back
        session.add(StatusRecord(wamid="wamid.REAL", status="sent", callback_data=callback,
                                 occurred_at=harness.clock(), received_at=harness.clock()))
    harness.clock.advance(60)

    assert send_delivery(harness.bot, delivery_id).kind == "adopted"
    row = deliveries(harness.database)[0]
    assert (row.state, row.wamid, row.status) == ("sent", "wamid.REAL", "sent")
    assert len(harness.graph.requests) == 1


def test_an_unreadable_success_is_not_resent_before_the_grace(harness: Harness) -> None:
    delivery_id = _plan(harness)
    harness.graph.answers.append(httpx.Response(200, text="<html>proxy</html>"))

    outcome = send_delivery(harness.bot, delivery_id)

    assert outcome.kind == "wait"  # it may well have been sent: wait for its status
    assert deliveries(harness.database)[0].state == "sending"
    assert send_delivery(harness.bot, delivery_id).kind == "wait"
    assert len(harness.graph.requests) == 1


def test_lost_answer_without_any_status_is_sent_again_after_the_grace(harness: Harness) -> None:
    delivery_id = _plan(harness)
    harness.graph.answers.append(httpx.ReadTimeout("answer lost"))
    send_delivery(harness.bot, delivery_id)

    harness.clock.advance(5)  # the claim ended at once; the grace is 10 s
    assert send_delivery(harness.bot, delivery_id).kind == "wait"
    harness.clock.advance(6)
    assert send_delivery(harness.bot, delivery_id).kind == "sent"
    assert len(harness.graph.requests) == 2


def test_a_crashed_send_is_resent_only_after_its_claim_and_grace(harness: Harness) -> None:
    delivery_id = _plan(harness)
    # As if a worker claimed the row and died before anything was stored.
    with harness.database.transaction() as session:
        from integrations.whatsapp_bot.models import Delivery

        row = session.get(Delivery, delivery_id)
        assert row is not None
        row.state, row.token, row.claimed_by = "sending", "dead", "dead"
        row.claim_until = harness.clock() + timedelta(seconds=30)

    assert send_delivery(harness.bot, delivery_id).kind == "busy"
    harness.clock.advance(35)
    assert send_delivery(harness.bot, delivery_id).kind == "wait"
    harness.clock.advance(10)
    assert send_delivery(harness.bot, delivery_id).kind == "sent"
    assert len(harness.graph.requests) == 1


def test_someone_who_stopped_after_planning_is_skipped(harness: Harness) -> None:
    delivery_id = _plan(harness)
    from integrations.whatsapp_bot.subscribers import unsubscribe

    with harness.database.transaction() as session:
        unsubscribe(session, IN, source="whatsapp", now=harness.clock())

    assert send_delivery(harness.bot, delivery_id).kind == "skipped"
    assert harness.graph.requests == []
    assert deliveries(harness.database)[0].state == "skipped"
