"""Indonesian first, English by choice: the language of a page and how text is formatted."""

from __future__ import annotations

from datetime import date, datetime

from starlette.requests import Request

from server.api.http import preferred_language
from server.dash.messages import MESSAGES

LANG_COOKIE = "kliqs_lang"
LANGUAGES = ("id", "en")

_MONTHS = {
    "id": "Jan Feb Mar Apr Mei Jun Jul Agu Sep Okt Nov Des".split(),
    "en": "Jan Feb Mar Apr May Jun Jul Aug Sep Oct Nov Dec".split(),
}


def language_of(request: Request) -> str:
    """The cookie's choice, else the browser's ``Accept-Language``, else Indonesian."""
    chosen = request.cookies.get(LANG_COOKIE)
    if chosen in LANGUAGES:
        return chosen
    return preferred_language(request.headers.get("accept-language"))


def translate(lang: str, key: str, **params: object) -> str:
    """The text for ``key`` in ``lang``, with ``{name}`` placeholders filled."""
    indonesian, english = MESSAGES[key]
    text = english if lang == "en" else indonesian
    return text.format(**params) if params else text


def format_number(value: int, lang: str) -> str:
    """Thousands grouped the local way: ``1.000`` in Indonesian, ``1,000`` in English."""
    grouped = f"{value:,}"
    return grouped if lang == "en" else grouped.replace(",", ".")


def format_date(moment: date, lang: str) -> str:
    """``7 Jun 2026`` (month names in ``lang``)."""
    return f"{moment.day} {_MONTHS[lang][moment.month - 1]} {moment.year}"


def format_datetime(moment: datetime | None, lang: str) -> str:
    """``7 Jun 2026 14:05 UTC``; an empty string for None."""
    if moment is None:
        return ""
    return f"{format_date(moment, lang)} {moment:%H:%M} UTC"
