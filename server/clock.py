"""The server's clock: UTC now, shiftable so tests can move time (month resets, expiry)."""

from __future__ import annotations

import time
from datetime import UTC, datetime, timedelta

_offset = timedelta(0)
_offset_seconds = 0.0


def utcnow() -> datetime:
    """The current time, aware, in UTC, plus any offset set by :func:`set_offset`."""
    return datetime.now(UTC) + _offset


def timestamp() -> float:
    """:func:`utcnow` as POSIX seconds: a float, for the redirect path's click tuples."""
    return time.time() + _offset_seconds


def set_offset(seconds: float) -> None:
    """Shift the clock (tests and ``KLIQS_CLOCK_OFFSET_SECONDS``)."""
    global _offset, _offset_seconds
    _offset = timedelta(seconds=seconds)
    _offset_seconds = float(seconds)


def month_start(moment: datetime) -> datetime:
    """00:00 UTC on the first day of ``moment``'s month."""
    return moment.astimezone(UTC).replace(day=1, hour=0, minute=0, second=0, microsecond=0)


def next_month_start(moment: datetime) -> datetime:
    """00:00 UTC on the first day of the month after ``moment``'s: when usage resets."""
    start = month_start(moment)
    return (start + timedelta(days=32)).replace(day=1)


def period_of(moment: datetime) -> str:
    """The usage period key, ``YYYY-MM``."""
    return moment.astimezone(UTC).strftime("%Y-%m")


def iso(moment: datetime | None) -> str | None:
    """ISO 8601 in UTC with a ``Z``, seconds precision, as the contract shows."""
    if moment is None:
        return None
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=UTC)
    return moment.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")
