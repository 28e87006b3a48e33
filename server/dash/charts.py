"""The clicks-per-day chart: an inline SVG drawn on the server (no JavaScript library)."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from markupsafe import Markup, escape

WIDTH, HEIGHT = 600, 160
_GAP = 2


def bar_chart(per_day: Sequence[Mapping[str, Any]], *, label: str, day_label: str) -> Markup:
    """Bars of ``[{"date": "2026-06-07", "clicks": 3}, ...]`` (the stats' ``per_day``).

    Each bar's ``<title>`` names its day and count (``day_label`` is a template such as
    ``"{date}: {clicks} klik"``); ``label`` is the chart's accessible name. Axis text is left
    to the page: HTML text scales better than SVG text across phone and desktop widths.
    """
    peak = max((int(day["clicks"]) for day in per_day), default=0)
    slot = WIDTH / max(len(per_day), 1)
    bars = []
    for i, day in enumerate(per_day):
        clicks = int(day["clicks"])
        height = (HEIGHT - 4) * clicks / peak if peak else 0.0
        height = max(height, 1.5)  # a hairline marks the days without clicks
        title = escape(day_label.format(date=day["date"], clicks=clicks))
        css = "bar" if clicks else "bar empty"
        bars.append(
            f'<rect class="{css}" x="{i * slot + _GAP / 2:.1f}" y="{HEIGHT - height:.1f}" '
            f'width="{slot - _GAP:.1f}" height="{height:.1f}"><title>{title}</title></rect>'
        )
    return Markup(
        f'<svg class="chart" viewBox="0 0 {WIDTH} {HEIGHT}" preserveAspectRatio="none" '
        f'role="img" aria-label="{escape(label)}" xmlns="http://www.w3.org/2000/svg">'
        f'<line class="axis" x1="0" y1="{HEIGHT - 0.5}" x2="{WIDTH}" y2="{HEIGHT - 0.5}"/>'
        + "".join(bars)
        + "</svg>"
    )
