"""Commands people send to the bot, and the bot's replies."""

from __future__ import annotations

import sys
import types

import pytest

from integrations.whatsapp_bot.commands import (
    Command,
    help_text,
    parse_command,
    products_text,
    reply_language,
    reply_text,
    subscribed_text,
    unsubscribed_text,
)


@pytest.mark.parametrize(
    ("text", "command", "lang"),
    [
        ("DAFTAR", Command.SUBSCRIBE, "id"),
        ("  daftar \n", Command.SUBSCRIBE, "id"),
        ("Daftar!", Command.SUBSCRIBE, "id"),
        ("JOIN", Command.SUBSCRIBE, "en"),
        ("join", Command.SUBSCRIBE, "en"),
        ("STOP", Command.UNSUBSCRIBE, "id"),
        ("stop.", Command.UNSUBSCRIBE, "id"),
        ("Berhenti", Command.UNSUBSCRIBE, "id"),
        ("UNSUBSCRIBE", Command.UNSUBSCRIBE, "en"),
        ("produk", Command.PRODUCTS, "id"),
        ("/produk", Command.PRODUCTS, "id"),
        ("PRODUCTS", Command.PRODUCTS, "en"),
        ("bantuan", Command.HELP, "id"),
        ("Help?", Command.HELP, "en"),
        ("\tHELP\t", Command.HELP, "en"),
    ],
)
def test_keywords_are_recognised_case_and_whitespace_insensitively(text, command, lang):
    assert parse_command(text) is command
    assert reply_language(text) == lang


@pytest.mark.parametrize(
    "text",
    [
        None,
        "",
        "   ",
        "halo",
        "daftar sekarang",
        "stopper",
        "jangan stop",
        "PRODUK123",
        "d a f t a r",
    ],
)
def test_anything_else_is_unknown_and_answered_in_indonesian(text):
    assert parse_command(text) is Command.UNKNOWN
    assert reply_language(text) == "id"


def test_help_lists_every_command_in_its_language():
    for keyword in ("DAFTAR", "STOP", "PRODUK", "BANTUAN"):
        assert keyword in help_text("id")
    for keyword in ("JOIN", "STOP", "PRODUCTS", "HELP"):
        assert keyword in help_text("en")
    assert help_text() == help_text("id")


def test_subscribe_and_unsubscribe_replies_tell_how_to_undo():
    assert "STOP" in subscribed_text("id") and "berlangganan" in subscribed_text("id")
    assert "STOP" in subscribed_text("en") and "subscribed" in subscribed_text("en")
    assert "DAFTAR" in unsubscribed_text("id")
    assert "JOIN" in unsubscribed_text("en")


def test_products_text_uses_the_shared_product_message_format():
    text = products_text(
        [("VPS Murah", "https://kliqs.me/vps-murah"), ("Kaos Batik", "https://kliqs.me/kaos-batik")]
    )
    assert text == (
        "Produk baru tersedia:\nVPS Murah\nhttps://kliqs.me/vps-murah\n\n"
        "Produk baru tersedia:\nKaos Batik\nhttps://kliqs.me/kaos-batik"
    )


def test_products_text_delegates_to_kliqs_core_messages(monkeypatch):
    calls = []

    def fake(title: str, short_url: str, *, lang: str = "id") -> str:
        calls.append((title, short_url, lang))
        return f"<{title}|{short_url}|{lang}>"

    monkeypatch.setitem(
        sys.modules, "kliqs_core.messages", types.SimpleNamespace(format_product_message=fake)
    )

    assert products_text([("A", "https://k.me/a")], "en") == "<A|https://k.me/a|en>"
    assert calls == [("A", "https://k.me/a", "en")]


def test_no_products_says_so():
    assert products_text([], "id") == "Belum ada produk baru."
    assert products_text([], "en") == "No new products yet."


def test_products_text_stays_within_whatsapp_text_limit():
    products = [(f"Produk {i} " + "x" * 200, f"https://kliqs.me/p{i}") for i in range(40)]
    text = products_text(products)
    assert len(text) <= 4096
    assert text.startswith("Produk baru tersedia:\nProduk 0 ")
    assert "Produk 39 " not in text  # the tail is dropped, never cut mid-message
    blocks = text.split("\n\n")
    assert len(blocks) == 16  # 16 blocks of about 250 chars fit in 4,096 with separators
    assert blocks[-1] == "Produk baru tersedia:\nProduk 15 " + "x" * 200 + "\nhttps://kliqs.me/p15"


@pytest.mark.parametrize(
    ("command", "expected"),
    [
        (Command.SUBSCRIBE, subscribed_text("en")),
        (Command.UNSUBSCRIBE, unsubscribed_text("en")),
        (Command.HELP, help_text("en")),
        (Command.UNKNOWN, help_text("en")),
    ],
)
def test_reply_text_picks_the_reply(command, expected):
    assert reply_text(command, "en") == expected


def test_reply_text_for_products_lists_them():
    assert reply_text(Command.PRODUCTS, "id", [("VPS Murah", "https://kliqs.me/vps-murah")]) == (
        "Produk baru tersedia:\nVPS Murah\nhttps://kliqs.me/vps-murah"
    )
