"""Delivery statuses: stored per message, never moving backwards, failures acted on once."""

from __future__ import annotations

from datetime import timedelta

import pytest
from wa_testkit import Harness, add_product, add_subscriber, deliveries, subscriber

from integrations.whatsapp_bot.broadcast import plan_broadcast
from integrations.whatsapp_bot.models import StatusRecord
from integrations.whatsapp_bot.sending import send_delivery
from integrations.whatsapp_bot.statuses import apply_status, next_status

PHONE = "6281111111111"


@pytest.mark.parametrize(
    ("current", "new", "expected"),
    [
        (None, "sent", "sent"),
        ("sent", "delivered", "delivered"),
        ("delivered", "read", "read"),
        (None, "read", "read"),  # read came first
        ("read", "delivered", None),  # never backwards
        ("read", "sent", None),
        ("delivered", "sent", None),
        ("sent", "failed", "failed"),
        (None, "failed", "failed"),
        ("failed", "sent", None),  # failed is terminal
        ("failed", "read", None),
        ("delivered", "failed", None),  # it reached the phone: a late failure is ignored
        ("read", "failed", None),
        ("sent", "deleted", None),  # statuses we do not rank change nothing
    ],
)
def test_status_order(current: str | None, new: str, expected: str | None) -> None:
    assert next_status(current, new) == expected


def _sent(h: Harness, *, in_window: bool = True) -> tuple[int, str]:
    last = h.clock() - timedelta(hours=1 if in_window else 48)
    add_subscriber(h.database, PHONE, last_inbound_at=last)
    product = add_product(h.database, "Kopi Gayo", "https://kliqs.me/kopi-gayo")
    [delivery_id] = plan_broadcast(h.database, product, now=h.clock(), grace_seconds=5)
    assert send_delivery(h.bot, delivery_id).kind == "sent"
    wamid = deliveries(h.database)[0].wamid
    assert wamid is not None
    return delivery_id, wamid


def _status(h: Harness, wamid: str, status: str, code: int | None = None, **kw: object) -> int:
    with h.database.transaction() as session:
        row = StatusRecord(wamid=wamid, status=status, error_code=code, recipient=PHONE,
                           occurred_at=h.clock(), received_at=h.clock(), **kw)
        session.add(row)
        session.flush()
        return row.id


def _apply(h: Harness, *statuses: int) -> list[int | None]:
    return [apply_status(h.database, pk, now=h.clock()).resend for pk in statuses]


def test_out_of_order_statuses_end_at_the_furthest(harness: Harness) -> None:
    _, wamid = _sent(harness)
    read = _status(harness, wamid, "read")
    delivered = _status(harness, wamid, "delivered")
    sent = _status(harness, wamid, "sent")

    _apply(harness, read, delivered, sent)

    row = deliveries(harness.database)[0]
    assert (row.state, row.status) == ("sent", "read")
    with harness.database.transaction() as session:
        stored = session.query(StatusRecord).filter_by(wamid=wamid).count()
        processed = session.query(StatusRecord).filter(StatusRecord.processed_at.isnot(None))
        assert stored == 3 and processed.count() == 3


def test_failed_131047_resends_the_text_once_as_template(harness: Harness) -> None:
    delivery_id, wamid = _sent(harness, in_window=True)

    [resend] = _apply(harness, _status(harness, wamid, "failed", 131047))

    assert resend == delivery_id
    row = deliveries(harness.database)[0]
    assert (row.state, row.template_fallback, row.wamid, row.error_code) == (
        "pending", True, None, 131047
    )
    assert send_delivery(harness.bot, delivery_id).kind == "sent"
    assert [b["type"] for b in harness.graph.bodies] == ["text", "template"]
    # The template fails too: no second resend.
    template_wamid = deliveries(harness.database)[0].wamid
    assert template_wamid is not None and template_wamid != wamid
    assert _apply(harness, _status(harness, template_wamid, "failed", 131047)) == [None]
    assert deliveries(harness.database)[0].state == "failed"


def test_failed_131026_marks_undeliverable_and_131050_opts_out(harness: Harness) -> None:
    _, wamid = _sent(harness)
    _apply(harness, _status(harness, wamid, "failed", 131026))
    assert subscriber(harness.database, PHONE).status == "undeliverable"
    assert deliveries(harness.database)[0].state == "failed"

    # 131050 on a message that is not a broadcast (a command's reply) still counts.
    _apply(harness, _status(harness, "wamid.REPLY", "failed", 131050))
    row = subscriber(harness.database, PHONE)
    assert (row.status, row.opt_out_source) == ("unsubscribed", "131050")


def test_failed_after_read_changes_nothing(harness: Harness) -> None:
    _, wamid = _sent(harness)
    _apply(harness, _status(harness, wamid, "read"))

    assert _apply(harness, _status(harness, wamid, "failed", 131026)) == [None]

    assert deliveries(harness.database)[0].status == "read"
    assert subscriber(harness.database, PHONE).status == "active"


def test_a_failure_is_acted_on_once_even_if_applied_twice(harness: Harness) -> None:
    delivery_id, wamid = _sent(harness)
    failed = _status(harness, wamid, "failed", 131047)

    assert _apply(harness, failed, failed) == [delivery_id, None]


def test_status_before_the_wamid_was_stored_is_matched_by_callback(harness: Harness) -> None:
    add_subscriber(harness.database, PHONE, last_inbound_at=harness.clock())
    product = add_product(harness.database, "Teh", "https://kliqs.me/teh")
    [delivery_id] = plan_broadcast(harness.database, product, now=harness.clock(), grace_seconds=5)
    with harness.database.transaction() as session:  # a send in flight
        from integrations.whatsapp_bot.models import Delivery

        row = session.get(Delivery, delivery_id)
        assert row is not None
        row.state, row.token, row.claimed_by = "sending", "tok1", "tok1"
        row.claim_until = harness.clock() + timedelta(seconds=30)

    _apply(harness, _status(harness, "wamid.FAST", "delivered", callback_data="kliqs:tok1"))

    row = deliveries(harness.database)[0]
    assert (row.state, row.wamid, row.status) == ("sent", "wamid.FAST", "delivered")
