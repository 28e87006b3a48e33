"""Datetime conversions between the wire (ISO 8601, Unix seconds) and aware datetimes."""

from __future__ import annotations

import math
from datetime import UTC, date, datetime, timedelta
from email.utils import parsedate_to_datetime


def parse_datetime(value: str) -> datetime:
    """Parse an ISO 8601 string (``Z`` or an offset) into an aware datetime; offset-less is UTC."""
    parsed = datetime.fromisoformat(value)
    return parsed if parsed.tzinfo is not None else parsed.replace(tzinfo=UTC)


def parse_optional_datetime(value: str | None) -> datetime | None:
    """Like :func:`parse_datetime`, passing ``None`` through."""
    return None if value is None else parse_datetime(value)


def parse_date(value: str) -> date:
    """Parse a ``YYYY-MM-DD`` day."""
    return date.fromisoformat(value)


def format_datetime(value: datetime | str) -> str:
    """Render a datetime for the API in UTC with a ``Z``; a naive one is taken as UTC.

    Strings pass through untouched: the server validates them and answers
    ``INVALID_EXPIRES_AT`` with a precise message.
    """
    if isinstance(value, str):
        return value
    aware = value if value.tzinfo is not None else value.replace(tzinfo=UTC)
    return aware.astimezone(UTC).isoformat().replace("+00:00", "Z")


def from_unix(value: str) -> datetime | None:
    """An aware UTC datetime from Unix seconds in a header, or ``None`` when unreadable."""
    try:
        return datetime.fromtimestamp(float(value), UTC)
    except (ValueError, OverflowError, OSError):
        return None


def parse_retry_after(value: str | None, *, now: datetime | None = None) -> float | None:
    """Seconds to wait from a ``Retry-After`` header: delta seconds or an HTTP date."""
    if value is None or not value.strip():
        return None
    try:
        seconds = float(value)
    except ValueError:
        pass
    else:
        return max(0.0, seconds) if math.isfinite(seconds) else None
    try:
        when = parsedate_to_datetime(value)
    except (TypeError, ValueError):
        return None
    if when.tzinfo is None:
        when = when.replace(tzinfo=UTC)
    return max(0.0, (when - (now or datetime.now(UTC))).total_seconds())


def utc_after(seconds: float, *, now: datetime | None = None) -> datetime:
    """The aware UTC datetime ``seconds`` from ``now`` (default: the current time)."""
    return (now or datetime.now(UTC)) + timedelta(seconds=seconds)
