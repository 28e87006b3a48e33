"""The clicks-per-day chart: an inline SVG drawn on the server (no JavaScript library)."""

from __future__ import annotations

from datetime import date

from markupsafe import Markup, escape

WIDTH, HEIGHT = 600, 160
_GAP = 2


def bar_chart(per_day: list[tuple[date, int]], *, label: str, day_label: str) -> Markup:
    """Bars of clicks per day; each bar's ``<title>`` names its day and count.

    ``label`` is the chart's accessible name; ``day_label`` a template such as
    ``"{date}: {clicks} klik"``. Axis text is left to the page (HTML scales better than SVG
    text across phone and desktop widths).
    """
    peak = max((n for _, n in per_day), default=0)
    slot = WIDTH / max(len(per_day), 1)
    bars = []
    for i, (day, clicks) in enumerate(per_day):
        height = 0.0 if peak == 0 else (HEIGHT - 4) * clicks / peak
        height = max(height, 1.5)  # a hairline marks days without clicks
        title = escape(day_label.format(date=day.isoformat(), clicks=clicks))
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
