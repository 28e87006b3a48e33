"""The bot's commands and its replies, as pure functions.

People type ``DAFTAR`` / ``JOIN`` to subscribe, ``STOP`` / ``BERHENTI`` / ``UNSUBSCRIBE`` to
unsubscribe, ``PRODUK`` / ``PRODUCTS`` for the latest products and ``BANTUAN`` / ``HELP`` for help.
Replies are Indonesian, or English when the person used an English keyword.
"""

from __future__ import annotations

import enum
import string
from collections.abc import Sequence
from typing import Literal

from integrations.whatsapp_bot.client import MAX_TEXT_CHARS

Lang = Literal["id", "en"]


class Command(enum.Enum):
    """What an inbound text asks for."""

    SUBSCRIBE = "subscribe"
    UNSUBSCRIBE = "unsubscribe"
    PRODUCTS = "products"
    HELP = "help"
    UNKNOWN = "unknown"


_KEYWORDS: dict[str, tuple[Command, Lang]] = {
    "daftar": (Command.SUBSCRIBE, "id"),
    "join": (Command.SUBSCRIBE, "en"),
    "berhenti": (Command.UNSUBSCRIBE, "id"),
    # STOP is what Meta and carriers teach people; answer it in the default language.
    "stop": (Command.UNSUBSCRIBE, "id"),
    "unsubscribe": (Command.UNSUBSCRIBE, "en"),
    "produk": (Command.PRODUCTS, "id"),
    "products": (Command.PRODUCTS, "en"),
    "bantuan": (Command.HELP, "id"),
    "help": (Command.HELP, "en"),
}
# People add a slash (from other bots) or punctuation ("Daftar!"); neither changes the meaning.
_STRIP_CHARS = string.whitespace + string.punctuation


def _keyword(text: str | None) -> str:
    return " ".join((text or "").split()).strip(_STRIP_CHARS).casefold()


def parse_command(text: str | None) -> Command:
    """The command in a message; case, whitespace and surrounding punctuation are ignored."""
    found = _KEYWORDS.get(_keyword(text))
    return found[0] if found else Command.UNKNOWN


def reply_language(text: str | None) -> Lang:
    """``"en"`` when the message is an English keyword, else ``"id"``."""
    found = _KEYWORDS.get(_keyword(text))
    return found[1] if found else "id"


_HELP = {
    "id": (
        "Halo! Ini bot info produk baru.\n"
        "Kirim salah satu perintah:\n"
        "DAFTAR - berlangganan info produk baru\n"
        "STOP - berhenti berlangganan\n"
        "PRODUK - lihat produk terbaru\n"
        "BANTUAN - tampilkan pesan ini"
    ),
    "en": (
        "Hi! This bot announces new products.\n"
        "Send one of these commands:\n"
        "JOIN - subscribe to new products\n"
        "STOP - unsubscribe\n"
        "PRODUCTS - see the latest products\n"
        "HELP - show this message"
    ),
}
_SUBSCRIBED = {
    "id": (
        "Terima kasih, Anda sudah berlangganan info produk baru. "
        "Kirim STOP kapan saja untuk berhenti."
    ),
    "en": "Thank you, you are subscribed to new products. Send STOP at any time to unsubscribe.",
}
_UNSUBSCRIBED = {
    "id": (
        "Anda sudah berhenti berlangganan dan tidak akan menerima info produk lagi. "
        "Kirim DAFTAR untuk berlangganan kembali."
    ),
    "en": (
        "You are unsubscribed and will not receive product news any more. "
        "Send JOIN to subscribe again."
    ),
}
_NO_PRODUCTS = {
    "id": "Belum ada produk baru.",
    "en": "No new products yet.",
}


def help_text(lang: Lang = "id") -> str:
    """The list of commands."""
    return _HELP[lang]


def subscribed_text(lang: Lang = "id") -> str:
    """The confirmation after subscribing; it says how to stop (Meta asks for clear opt-out)."""
    return _SUBSCRIBED[lang]


def unsubscribed_text(lang: Lang = "id") -> str:
    """The confirmation after unsubscribing."""
    return _UNSUBSCRIBED[lang]


def products_text(products: Sequence[tuple[str, str]], lang: Lang = "id") -> str:
    """The latest products, each ``(title, short_url)`` in the shared product message format.

    Products that would push the text past WhatsApp's 4,096 characters are left out.
    """
    if not products:
        return _NO_PRODUCTS[lang]
    # Imported when used: kliqs_core.messages is the one place the product text is defined.
    from kliqs_core.messages import format_product_message

    blocks: list[str] = []
    length = 0
    for title, short_url in products:
        block = format_product_message(title, short_url, lang=lang)
        added = len(block) + (2 if blocks else 0)
        if length + added > MAX_TEXT_CHARS:
            break
        blocks.append(block)
        length += added
    return "\n\n".join(blocks)


def reply_text(
    command: Command, lang: Lang = "id", products: Sequence[tuple[str, str]] = ()
) -> str:
    """The reply to a command; an unknown message gets the help text."""
    if command is Command.SUBSCRIBE:
        return subscribed_text(lang)
    if command is Command.UNSUBSCRIBE:
        return unsubscribed_text(lang)
    if command is Command.PRODUCTS:
        return products_text(products, lang)
    return help_text(lang)
