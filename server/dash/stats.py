"""Click statistics of one link for its dashboard page: per day, and the top values.

Reads the ``clicks`` table the public side writes. Bot clicks are counted apart and left
out of the chart and the top lists, which describe people.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime, timedelta
from typing import Any

from sqlalchemy import Connection, func, select

from server.db.models import Click

DAYS = 30
TOP = 5


@dataclass(frozen=True)
class Stats:
    """A link's clicks over the last ``len(per_day)`` days."""

    per_day: list[tuple[date, int]]
    human_clicks: int
    bot_clicks: int
    referrers: list[tuple[str | None, int]]
    devices: list[tuple[str | None, int]]
    browsers: list[tuple[str | None, int]]
    countries: list[tuple[str | None, int]]

    @property
    def peak(self) -> int:
        """The busiest day's clicks (the chart's scale)."""
        return max((n for _, n in self.per_day), default=0)


def read(conn: Connection, link_id: str, *, now: datetime, days: int = DAYS) -> Stats:
    """The statistics of ``link_id`` for the ``days`` days ending today (UTC)."""
    first = (now - timedelta(days=days - 1)).date()
    since = datetime(first.year, first.month, first.day, tzinfo=now.tzinfo)
    window = (Click.link_id == link_id, Click.ts >= since)
    humans = (*window, Click.is_bot.is_(False))
    day = func.date(Click.ts)
    counted = dict(
        (_as_date(d), n)
        for d, n in conn.execute(select(day, func.count()).where(*humans).group_by(day)).all()
    )
    bots = conn.execute(
        select(func.count()).where(*window, Click.is_bot.is_(True))
    ).scalar_one()
    return Stats(
        per_day=[(first + timedelta(days=i), counted.get(first + timedelta(days=i), 0))
                 for i in range(days)],
        human_clicks=sum(counted.values()),
        bot_clicks=bots,
        referrers=_top(conn, Click.referrer_host, humans),
        devices=_top(conn, Click.device, humans),
        browsers=_top(conn, Click.browser, humans),
        countries=_top(conn, Click.country, humans),
    )


def _top(conn: Connection, column: Any, where: tuple[Any, ...]) -> list[tuple[str | None, int]]:
    count = func.count().label("n")
    rows = conn.execute(
        select(column, count).where(*where).group_by(column).order_by(count.desc(), column).limit(TOP)
    ).all()
    return [(value, n) for value, n in rows]


def _as_date(value: Any) -> date:
    # SQLite's date() answers text, PostgreSQL's a date.
    return value if isinstance(value, date) else date.fromisoformat(str(value)[:10])
