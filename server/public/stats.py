"""Click statistics of one link for ``GET /api/v1/links/{id}/stats``.

Over the last ``days`` UTC days (today included): ``total_clicks`` = ``human_clicks`` +
``bot_clicks``; everything else describes people only: ``per_day`` (every day, zeros
included), the top ``TOP`` referrers, devices, browsers, OS and countries, and
``unique_visitors`` (distinct daily visitor hashes, so one person on two days counts twice).
A missing value is reported as ``"(direct)"`` (referrer) or ``"(unknown)"``.
"""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta
from typing import Any

from sqlalchemy import Connection, ColumnElement, func, select

from server.db.models import Click

TOP = 10
MAX_DAYS = 365


def _day(value: Any) -> str:
    if isinstance(value, (date, datetime)):
        return value.strftime("%Y-%m-%d")
    return str(value)[:10]  # SQLite's date() answers text


def _top(conn: Connection, column: Any, where: tuple[ColumnElement[bool], ...], missing: str
         ) -> list[dict[str, Any]]:
    count = func.count()
    rows = conn.execute(
        select(column, count).where(*where).group_by(column)
        .order_by(count.desc(), column).limit(TOP)
    ).all()
    return [{"value": value if value is not None else missing, "clicks": n} for value, n in rows]


def link_stats(conn: Connection, link_id: str, *, days: int, now: datetime) -> dict[str, Any]:
    """The contract's stats object of ``link_id``."""
    first = (now.astimezone(UTC) - timedelta(days=days - 1)).date()
    since = datetime(first.year, first.month, first.day, tzinfo=UTC)
    window = (Click.link_id == link_id, Click.ts >= since)
    humans = (*window, Click.is_bot.is_(False))
    by_kind = dict(
        conn.execute(select(Click.is_bot, func.count()).where(*window).group_by(Click.is_bot))
        .all()
    )
    human, bot = int(by_kind.get(False, 0)), int(by_kind.get(True, 0))
    day = func.date(Click.ts)
    per_day = {
        _day(d): n for d, n in conn.execute(select(day, func.count()).where(*humans).group_by(day))
    }
    unique = conn.execute(
        select(func.count(func.distinct(Click.visitor_hash))).where(*humans)
    ).scalar_one()
    dates = [(first + timedelta(days=i)).isoformat() for i in range(days)]
    return {
        "link_id": link_id,
        "total_clicks": human + bot,
        "human_clicks": human,
        "bot_clicks": bot,
        "unique_visitors": int(unique),
        "per_day": [{"date": d, "clicks": int(per_day.get(d, 0))} for d in dates],
        "referrers": _top(conn, Click.referrer_host, humans, "(direct)"),
        "devices": _top(conn, Click.device, humans, "(unknown)"),
        "browsers": _top(conn, Click.browser, humans, "(unknown)"),
        "os": _top(conn, Click.os, humans, "(unknown)"),
        "countries": _top(conn, Click.country, humans, "(unknown)"),
    }
