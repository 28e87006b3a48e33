"""The dashboard's small pure parts: chart, language, texts, redirects, cookie policy."""

from __future__ import annotations

import re
import string
from datetime import date
from pathlib import Path

import pytest
from starlette.requests import Request

from server.dash.charts import HEIGHT, bar_chart
from server.dash.i18n import format_date, format_number, language_of, translate
from server.dash.messages import MESSAGES
from server.dash.routes.links import _with_offset
from server.dash.sessions import session_csrf, tokens_match
from server.dash.web import TEMPLATES, CookiePolicy, safe_next


def _request(headers: dict[str, str]) -> Request:
    raw = [(k.lower().encode(), v.encode()) for k, v in headers.items()]
    return Request({"type": "http", "method": "GET", "path": "/dash", "headers": raw})


def test_chart_has_one_bar_per_day_scaled_to_the_busiest_day() -> None:
    days = [{"date": f"2026-06-0{n}", "clicks": c} for n, c in ((1, 0), (2, 4), (3, 2))]
    svg = str(bar_chart(days, label="Klik <per> hari", day_label="{date}: {clicks} klik"))
    bars = re.findall(r'<rect class="([^"]+)"[^>]* y="([\d.]+)"[^>]* height="([\d.]+)"', svg)
    assert [b[0] for b in bars] == ["bar empty", "bar", "bar"]
    heights = [float(b[2]) for b in bars]
    assert heights[1] == pytest.approx(HEIGHT - 4)
    assert heights[2] == pytest.approx((HEIGHT - 4) / 2)
    assert "<title>2026-06-02: 4 klik</title>" in svg
    assert 'aria-label="Klik &lt;per&gt; hari"' in svg  # escaped, never raw markup
    assert "<script" not in svg


def test_chart_without_clicks_draws_only_hairlines() -> None:
    svg = str(bar_chart([{"date": "2026-06-01", "clicks": 0}] * 30, label="x", day_label="{date}"))
    assert svg.count('class="bar empty"') == 30
    assert 'class="bar"' not in svg


@pytest.mark.parametrize(
    ("headers", "expected"),
    [
        ({}, "id"),
        ({"Accept-Language": "en-US,en;q=0.9"}, "en"),
        ({"Accept-Language": "id-ID,en;q=0.5"}, "id"),
        ({"Accept-Language": "en", "Cookie": "kliqs_lang=id"}, "id"),
        ({"Cookie": "kliqs_lang=en"}, "en"),
        ({"Cookie": "kliqs_lang=fr"}, "id"),
    ],
)
def test_language_is_the_cookie_then_accept_language_then_indonesian(
    headers: dict[str, str], expected: str
) -> None:
    assert language_of(_request(headers)) == expected


def test_numbers_and_dates_are_written_the_local_way() -> None:
    assert format_number(30000, "id") == "30.000"
    assert format_number(30000, "en") == "30,000"
    assert format_date(date(2026, 8, 17), "id") == "17 Agu 2026"
    assert format_date(date(2026, 8, 17), "en") == "17 Aug 2026"
    assert translate("en", "foot.signed_in_as", email="a@b.id") == "Signed in as a@b.id"


def _placeholders(text: str) -> set[str]:
    return {name for _, name, _, _ in string.Formatter().parse(text) if name}


def test_every_text_has_both_languages_with_the_same_placeholders() -> None:
    for key, (indonesian, english) in MESSAGES.items():
        assert indonesian.strip() and english.strip(), key
        assert _placeholders(indonesian) == _placeholders(english), key


def test_every_text_the_templates_ask_for_exists() -> None:
    used: set[str] = set()
    for template in Path(TEMPLATES).glob("*.html"):
        used |= set(re.findall(r"\bt\('([a-z_]+\.[a-z_.]+)'", template.read_text()))
    assert used, "no texts found: the pattern is wrong"
    prefixes = {key for key in used if key.endswith(("_", "."))}  # completed in the template
    assert sorted(used - prefixes - set(MESSAGES)) == []
    assert {"keys.status_active", "keys.status_revoked"} <= set(MESSAGES)
    for prefix in prefixes:
        assert any(key.startswith(prefix) for key in MESSAGES), prefix


@pytest.mark.parametrize(
    ("local", "offset", "expected"),
    [
        ("2030-01-02T03:04", "420", "2030-01-02T03:04+07:00"),
        ("2030-01-02T03:04", "-330", "2030-01-02T03:04-05:30"),
        ("2030-01-02T03:04", "", "2030-01-02T03:04"),  # no JavaScript: UTC
        ("2030-01-02T03:04", "9999", "2030-01-02T03:04"),
        ("tomorrow", "420", "tomorrow"),  # left for the contract's INVALID_EXPIRES_AT
    ],
)
def test_expiry_from_the_form_is_the_browsers_local_time(local: str, offset: str, expected: str) -> None:
    assert _with_offset(local, offset) == expected


@pytest.mark.parametrize(
    ("target", "expected"),
    [
        ("/dash/links?q=a", "/dash/links?q=a"),
        (None, "/dash"),
        ("https://evil.example/dash", "/dash"),
        ("//evil.example/dash", "/dash"),
        ("/dash\\evil", "/dash"),
        ("/api/v1/me", "/dash"),
        ("/dashboard-evil", "/dashboard-evil"),
    ],
)
def test_redirect_targets_stay_on_the_dashboard(target: str | None, expected: str) -> None:
    assert safe_next(target) == expected


def test_https_base_url_gives_secure_host_prefixed_cookies() -> None:
    secure = CookiePolicy.for_base_url("https://kliqs.me")
    assert secure.secure and secure.session == "__Host-kliqs_session"
    assert secure.csrf == "__Host-kliqs_csrf"
    plain = CookiePolicy.for_base_url("http://localhost:8000")
    assert not plain.secure and plain.session == "kliqs_session"


def test_csrf_token_is_tied_to_its_session() -> None:
    token = session_csrf("session-a")
    assert tokens_match(token, session_csrf("session-a"))
    assert not tokens_match(token, session_csrf("session-b"))
    assert not tokens_match(token, None) and not tokens_match("", "")
