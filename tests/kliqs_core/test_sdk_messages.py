"""The WhatsApp product message, exactly as the seed shows it."""

from __future__ import annotations

import pytest

from kliqs_core import format_product_message


def test_indonesian_is_the_default_and_exact() -> None:
    text = format_product_message("VPS Murah", "https://kliqs.me/vps-murah")

    assert text == "Produk baru tersedia:\nVPS Murah\nhttps://kliqs.me/vps-murah"


def test_english() -> None:
    text = format_product_message("VPS Murah", "https://kliqs.me/vps-murah", lang="en")

    assert text == "New product available:\nVPS Murah\nhttps://kliqs.me/vps-murah"


def test_an_unknown_language_is_refused() -> None:
    with pytest.raises(ValueError, match="'jv'"):
        format_product_message("VPS Murah", "https://kliqs.me/vps-murah", lang="jv")
