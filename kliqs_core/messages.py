"""The product announcement text sent by the WhatsApp bot (the seed's exact format)."""

from __future__ import annotations

__all__ = ["SUPPORTED_LANGUAGES", "format_product_message"]

_HEADLINES = {
    "id": "Produk baru tersedia:",
    "en": "New product available:",
}

#: Languages :func:`format_product_message` speaks.
SUPPORTED_LANGUAGES = frozenset(_HEADLINES)


def format_product_message(title: str, short_url: str, *, lang: str = "id") -> str:
    """``"Produk baru tersedia:\\n{title}\\n{short_url}"`` (or the English line for ``"en"``)."""
    try:
        headline = _HEADLINES[lang]
    except KeyError:
        raise ValueError(
            f"Unsupported language {lang!r}; use one of {sorted(SUPPORTED_LANGUAGES)}"
        ) from None
    return f"{headline}\n{title}\n{short_url}"
