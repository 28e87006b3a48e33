"""Commands people send: subscribe, stop, latest products, help; the 24-hour window."""

from __future__ import annotations

import itertools
from datetime import datetime, timedelta

import pytest
from wa_testkit import Harness, add_product, graph_error, subscriber

from integrations.whatsapp_bot.bot import handle_inbound
from integrations.whatsapp_bot.inbox import store_updates
from integrations.whatsapp_bot.models import InboundRecord
from integrations.whatsapp_bot.webhooks import InboundMessage

PHONE = "6281234567890"
_ids = itertools.count(1)


def _receive(h: Harness, text: str | None, *, sent_at: datetime | None = None,
             type_: str = "text", payload: str | None = None) -> int:
    message = InboundMessage(
        wamid=f"wamid.IN{next(_ids)}", from_=PHONE, timestamp=sent_at or h.clock(), type=type_,
        text=text, payload=payload, contact_name="Budi", phone_number_id=None,
    )
    stored = store_updates(h.database, [message], phone_number_id="x", now=h.clock(),
                           grace_seconds=5)
    [pk] = stored.messages
    return pk


def _replies(h: Harness) -> list[str]:
    return [body["text"]["body"] for body in h.graph.bodies]


def test_daftar_subscribes_with_consent_time_and_source(harness: Harness) -> None:
    outcome = handle_inbound(harness.bot, _receive(harness, "  Daftar! "))

    assert (outcome.kind, outcome.command) == ("handled", "subscribe")
    row = subscriber(harness.database, PHONE)
    assert (row.status, row.consent_source) == ("active", "whatsapp")
    assert row.consent_at == harness.clock()
    assert row.name == "Budi" and row.last_inbound_at == harness.clock()
    assert "berlangganan" in _replies(harness)[0] and "STOP" in _replies(harness)[0]


def test_join_answers_in_english(harness: Harness) -> None:
    handle_inbound(harness.bot, _receive(harness, "JOIN"))

    assert subscriber(harness.database, PHONE).status == "active"
    assert _replies(harness)[0].startswith("Thank you, you are subscribed")


@pytest.mark.parametrize("word", ["STOP", "berhenti"])
def test_stop_and_berhenti_unsubscribe(harness: Harness, word: str) -> None:
    handle_inbound(harness.bot, _receive(harness, "DAFTAR"))
    harness.clock.advance(60)

    handle_inbound(harness.bot, _receive(harness, word))

    row = subscriber(harness.database, PHONE)
    assert (row.status, row.opt_out_source, row.opted_out_at) == (
        "unsubscribed", "whatsapp", harness.clock()
    )
    assert "berhenti berlangganan" in _replies(harness)[-1]


def test_subscribing_again_keeps_the_first_consent(harness: Harness) -> None:
    handle_inbound(harness.bot, _receive(harness, "DAFTAR"))
    first = harness.clock()
    harness.clock.advance(3600)

    handle_inbound(harness.bot, _receive(harness, "daftar"))

    row = subscriber(harness.database, PHONE)
    assert row.consent_at == first and row.last_inbound_at == harness.clock()


def test_produk_lists_the_latest_written_back_products_with_short_links(harness: Harness) -> None:
    base = harness.clock()
    add_product(harness.database, "Kopi Gayo", "https://kliqs.me/kopi-gayo", when=base)
    add_product(harness.database, "Teh Tarik", "https://kliqs.me/teh-tarik", state="notified",
                when=base + timedelta(minutes=1))
    add_product(harness.database, "Belum Jadi", None, state="received")

    handle_inbound(harness.bot, _receive(harness, "PRODUK"))

    assert _replies(harness) == [
        "Produk baru tersedia:\nTeh Tarik\nhttps://kliqs.me/teh-tarik\n\n"
        "Produk baru tersedia:\nKopi Gayo\nhttps://kliqs.me/kopi-gayo"
    ]


def test_produk_without_products_says_so(harness: Harness) -> None:
    handle_inbound(harness.bot, _receive(harness, "produk"))

    assert _replies(harness) == ["Belum ada produk baru."]


@pytest.mark.parametrize(
    ("text", "start"), [("BANTUAN", "Halo!"), ("help", "Hi!"), ("apa ya", "Halo!")]
)
def test_help_and_unknown_text_get_the_command_list(
    harness: Harness, text: str, start: str
) -> None:
    handle_inbound(harness.bot, _receive(harness, text))

    assert _replies(harness)[0].startswith(start)
    assert subscriber(harness.database, PHONE).status == "contact"


def test_a_tapped_button_payload_counts_as_the_command(harness: Harness) -> None:
    handle_inbound(harness.bot, _receive(harness, "Ya, mau", type_="button", payload="DAFTAR"))

    assert subscriber(harness.database, PHONE).status == "active"


def test_every_message_moves_the_window_even_without_a_reply(harness: Harness) -> None:
    handle_inbound(harness.bot, _receive(harness, None, type_="sticker"))

    assert subscriber(harness.database, PHONE).last_inbound_at == harness.clock()
    assert harness.graph.requests == []


def test_a_late_redelivery_neither_moves_the_window_back_nor_undoes_newer_consent(
    harness: Harness,
) -> None:
    handle_inbound(harness.bot, _receive(harness, "DAFTAR"))
    old = harness.clock() - timedelta(days=2)

    handle_inbound(harness.bot, _receive(harness, "STOP", sent_at=old))

    row = subscriber(harness.database, PHONE)
    assert row.last_inbound_at == harness.clock()
    assert row.status == "active"  # the STOP was sent before the DAFTAR
    assert len(harness.graph.requests) == 1  # no reply to a message older than the window


def test_stop_sent_after_daftar_but_delivered_first_still_wins(harness: Harness) -> None:
    stop_time = harness.clock()
    handle_inbound(harness.bot, _receive(harness, "STOP", sent_at=stop_time))

    earlier = stop_time - timedelta(seconds=30)
    handle_inbound(harness.bot, _receive(harness, "DAFTAR", sent_at=earlier))

    assert subscriber(harness.database, PHONE).status == "unsubscribed"


def test_a_message_is_handled_once(harness: Harness) -> None:
    pk = _receive(harness, "DAFTAR")

    assert handle_inbound(harness.bot, pk).kind == "handled"
    assert handle_inbound(harness.bot, pk).kind == "done"
    assert len(harness.graph.requests) == 1
    with harness.database.transaction() as session:
        row = session.get(InboundRecord, pk)
        assert row is not None and row.reply_wamid == "wamid.TEST000001"


def test_a_throttled_reply_is_retried_and_a_refused_one_is_dropped(harness: Harness) -> None:
    pk = _receive(harness, "DAFTAR")
    harness.graph.answers.append(graph_error(130429, 429))

    outcome = handle_inbound(harness.bot, pk)

    assert outcome.kind == "retry" and outcome.countdown > 0
    assert subscriber(harness.database, PHONE).status == "active"  # committed before the reply
    harness.graph.answers.append(graph_error(131026))
    assert handle_inbound(harness.bot, pk, attempt=2).kind == "handled"
    assert handle_inbound(harness.bot, pk, attempt=3).kind == "done"
