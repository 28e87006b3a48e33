"""The API's payloads as frozen dataclasses, with datetimes parsed to aware ``datetime``.

Each ``from_dict`` reads the ``data`` of a success envelope. A missing required field raises
``KeyError`` and a wrong type ``TypeError``/``ValueError``; the requestor turns those into
:class:`~kliqs_core.errors.UnexpectedResponseError`.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import date, datetime
from typing import Any

from kliqs_core._time import parse_date, parse_datetime, parse_optional_datetime

__all__ = [
    "Account",
    "ApiKeyInfo",
    "ClickCount",
    "DailyClicks",
    "Link",
    "LinkPage",
    "LinkStats",
    "Me",
    "Usage",
]


def _mapping(value: Any) -> Mapping[str, Any]:
    if not isinstance(value, Mapping):
        raise TypeError(f"expected a JSON object, got {type(value).__name__}")
    return value


def _sequence(value: Any) -> Sequence[Any]:
    if not isinstance(value, list):
        raise TypeError(f"expected a JSON array, got {type(value).__name__}")
    return value


def _str(value: Any) -> str:
    if not isinstance(value, str):
        raise TypeError(f"expected a string, got {type(value).__name__}")
    return value


def _opt_str(value: Any) -> str | None:
    return None if value is None else _str(value)


def _int(value: Any) -> int:
    # bool is an int subclass; a true/false where a count belongs is a broken payload.
    if not isinstance(value, int) or isinstance(value, bool):
        raise TypeError(f"expected an integer, got {type(value).__name__}")
    return value


def _bool(value: Any) -> bool:
    if not isinstance(value, bool):
        raise TypeError(f"expected a boolean, got {type(value).__name__}")
    return value


@dataclass(frozen=True)
class Link:
    """A short link as the API returns it (the password itself is never returned)."""

    id: str
    short_code: str
    short_url: str
    destination_url: str
    title: str | None
    description: str | None
    expires_at: datetime | None
    has_password: bool
    clicks: int
    created_at: datetime
    #: ``None`` when the server leaves it out (the seed's shorter response).
    updated_at: datetime | None

    @classmethod
    def from_dict(cls, data: Any) -> Link:
        """Parse a link object."""
        obj = _mapping(data)
        return cls(
            id=_str(obj["id"]),
            short_code=_str(obj["short_code"]),
            short_url=_str(obj["short_url"]),
            destination_url=_str(obj["destination_url"]),
            title=_opt_str(obj.get("title")),
            description=_opt_str(obj.get("description")),
            expires_at=parse_optional_datetime(_opt_str(obj.get("expires_at"))),
            has_password=_bool(obj.get("has_password", False)),
            clicks=_int(obj.get("clicks", 0)),
            created_at=parse_datetime(_str(obj["created_at"])),
            updated_at=parse_optional_datetime(_opt_str(obj.get("updated_at"))),
        )


@dataclass(frozen=True)
class LinkPage:
    """One page of ``GET /api/v1/links``: links newest first and the cursor of the next page."""

    items: tuple[Link, ...]
    next_cursor: str | None

    @classmethod
    def from_dict(cls, data: Any) -> LinkPage:
        """Parse a page object."""
        obj = _mapping(data)
        return cls(
            items=tuple(Link.from_dict(item) for item in _sequence(obj["items"])),
            next_cursor=_opt_str(obj.get("next_cursor")) or None,
        )


@dataclass(frozen=True)
class DailyClicks:
    """Clicks on one UTC day."""

    date: date
    clicks: int

    @classmethod
    def from_dict(cls, data: Any) -> DailyClicks:
        """Parse a ``per_day`` entry."""
        obj = _mapping(data)
        return cls(date=parse_date(_str(obj["date"])), clicks=_int(obj["clicks"]))


@dataclass(frozen=True)
class ClickCount:
    """Clicks for one value of a breakdown (a referrer host, a browser, a country...)."""

    value: str
    clicks: int

    @classmethod
    def from_dict(cls, data: Any) -> ClickCount:
        """Parse a breakdown entry."""
        obj = _mapping(data)
        return cls(value=_str(obj["value"]), clicks=_int(obj["clicks"]))


def _counts(obj: Mapping[str, Any], key: str) -> tuple[ClickCount, ...]:
    return tuple(ClickCount.from_dict(item) for item in _sequence(obj.get(key, [])))


@dataclass(frozen=True)
class LinkStats:
    """Click statistics of one link over the requested number of days."""

    link_id: str
    total_clicks: int
    human_clicks: int
    bot_clicks: int
    unique_visitors: int
    per_day: tuple[DailyClicks, ...]
    referrers: tuple[ClickCount, ...]
    devices: tuple[ClickCount, ...]
    browsers: tuple[ClickCount, ...]
    os: tuple[ClickCount, ...]
    countries: tuple[ClickCount, ...]

    @classmethod
    def from_dict(cls, data: Any) -> LinkStats:
        """Parse a stats object."""
        obj = _mapping(data)
        return cls(
            link_id=_str(obj["link_id"]),
            total_clicks=_int(obj["total_clicks"]),
            human_clicks=_int(obj["human_clicks"]),
            bot_clicks=_int(obj["bot_clicks"]),
            unique_visitors=_int(obj["unique_visitors"]),
            per_day=tuple(DailyClicks.from_dict(d) for d in _sequence(obj.get("per_day", []))),
            referrers=_counts(obj, "referrers"),
            devices=_counts(obj, "devices"),
            browsers=_counts(obj, "browsers"),
            os=_counts(obj, "os"),
            countries=_counts(obj, "countries"),
        )


@dataclass(frozen=True)
class Account:
    """The account that owns the key."""

    id: str
    email: str


@dataclass(frozen=True)
class ApiKeyInfo:
    """The key used for the request (only its last 4 characters, never the key)."""

    id: str
    name: str
    last4: str


@dataclass(frozen=True)
class Usage:
    """This month's usage against the plan's limits."""

    requests_used: int
    requests_limit: int
    links_used: int
    links_limit: int
    resets_at: datetime

    @classmethod
    def from_dict(cls, data: Any) -> Usage:
        """Parse a usage object."""
        obj = _mapping(data)
        return cls(
            requests_used=_int(obj["requests_used"]),
            requests_limit=_int(obj["requests_limit"]),
            links_used=_int(obj["links_used"]),
            links_limit=_int(obj["links_limit"]),
            resets_at=parse_datetime(_str(obj["resets_at"])),
        )


@dataclass(frozen=True)
class Me:
    """``GET /api/v1/me``: account, plan, key and usage."""

    account: Account
    plan: str
    key: ApiKeyInfo
    usage: Usage

    @classmethod
    def from_dict(cls, data: Any) -> Me:
        """Parse a ``me`` object."""
        obj = _mapping(data)
        account, key = _mapping(obj["account"]), _mapping(obj["key"])
        return cls(
            account=Account(id=_str(account["id"]), email=_str(account["email"])),
            plan=_str(obj["plan"]),
            key=ApiKeyInfo(id=_str(key["id"]), name=_str(key["name"]), last4=_str(key["last4"])),
            usage=Usage.from_dict(obj["usage"]),
        )
