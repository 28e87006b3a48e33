"""The bot's sweeper: what lost its task is queued again, when due, and not flooded."""

from __future__ import annotations

from datetime import timedelta

from wa_testkit import Harness, add_product, add_subscriber

from integrations.whatsapp_bot.broadcast import plan_broadcast
from integrations.whatsapp_bot.inbox import store_updates
from integrations.whatsapp_bot.models import StatusRecord
from integrations.whatsapp_bot.sending import send_delivery
from integrations.whatsapp_bot.statuses import apply_status
from integrations.whatsapp_bot.sweeper import sweep
from integrations.whatsapp_bot.webhooks import InboundMessage, StatusUpdate

PHONE = "6281234567890"


def _sweep(h: Harness) -> dict[str, tuple[int, ...]]:
    queued: list[tuple[str, int]] = []
    report = sweep(
        database=h.database,
        enqueue=lambda task, pk, _c: queued.append((task, pk)),
        grace_seconds=5,
        now=h.clock(),
    )
    assert sorted(queued) == sorted(
        [("send", pk) for pk in report.sends]
        + [("inbound", pk) for pk in report.inbound]
        + [("status", pk) for pk in report.statuses]
    )
    return {"sends": report.sends, "inbound": report.inbound, "statuses": report.statuses}


def test_a_pending_delivery_is_requeued_after_the_grace_then_less_often(harness: Harness) -> None:
    add_subscriber(harness.database, PHONE)
    product = add_product(harness.database, "Kopi", "https://kliqs.me/kopi")
    [pk] = plan_broadcast(harness.database, product, now=harness.clock(), grace_seconds=5)

    assert _sweep(harness)["sends"] == ()
    harness.clock.advance(6)
    assert _sweep(harness)["sends"] == (pk,)
    assert _sweep(harness)["sends"] == ()  # pushed back 10 s
    harness.clock.advance(11)
    assert _sweep(harness)["sends"] == (pk,)
    harness.clock.advance(11)
    assert _sweep(harness)["sends"] == ()  # now 20 s

    send_delivery(harness.bot, pk)
    harness.clock.advance(3600)
    assert _sweep(harness)["sends"] == ()  # sent: nothing left to do


def test_a_send_with_unknown_outcome_is_requeued_after_claim_and_resend_grace(
    harness: Harness,
) -> None:
    import httpx

    add_subscriber(harness.database, PHONE)
    product = add_product(harness.database, "Kopi", "https://kliqs.me/kopi")
    [pk] = plan_broadcast(harness.database, product, now=harness.clock(), grace_seconds=5)
    harness.graph.answers.append(httpx.ReadTimeout("lost"))
    assert send_delivery(harness.bot, pk).kind == "wait"

    harness.clock.advance(9)  # resend grace is 10 s
    assert _sweep(harness)["sends"] == ()
    harness.clock.advance(2)
    assert _sweep(harness)["sends"] == (pk,)


def test_unhandled_inbound_messages_and_statuses_are_requeued(harness: Harness) -> None:
    now = harness.clock()
    message = InboundMessage("wamid.IN", PHONE, now, "text", "DAFTAR", None, None, None)
    status = StatusUpdate("wamid.OUT", "read", now, PHONE, (), None, None)
    stored = store_updates(harness.database, [message, status], phone_number_id="x", now=now,
                           grace_seconds=5)

    assert _sweep(harness) == {"sends": (), "inbound": (), "statuses": ()}
    harness.clock.advance(6)
    assert _sweep(harness) == {"sends": (), "inbound": stored.messages, "statuses": stored.statuses}

    apply_status(harness.database, stored.statuses[0], now=harness.clock())
    harness.clock.advance(60)
    swept = _sweep(harness)
    assert swept["statuses"] == () and swept["inbound"] == stored.messages
    with harness.database.transaction() as session:
        record = session.get(StatusRecord, stored.statuses[0])
        assert record is not None and record.processed_at is not None
