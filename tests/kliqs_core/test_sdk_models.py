"""Parsing payloads: aware datetimes, optional fields, and refusing broken shapes."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta, timezone

import pytest

from kliqs_core import Link, LinkPage
from kliqs_core._time import format_datetime, parse_datetime, parse_retry_after

LINK = {
    "id": "0b6f2c1e-4d7a-4c52-9a43-000000000001",
    "short_code": "vps-murah",
    "short_url": "https://kliqs.me/vps-murah",
    "destination_url": "https://marketku.id/products/8f3f4f3f-1231-1231-1231",
    "title": "VPS Murah",
    "created_at": "2026-06-07T00:00:00Z",
}


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("2026-06-07T00:00:00Z", datetime(2026, 6, 7, tzinfo=UTC)),
        ("2026-06-07T07:00:00+07:00", datetime(2026, 6, 7, tzinfo=UTC)),
        ("2026-06-07T00:00:00.123456Z", datetime(2026, 6, 7, 0, 0, 0, 123456, tzinfo=UTC)),
        ("2026-06-07T00:00:00", datetime(2026, 6, 7, tzinfo=UTC)),  # offset-less is UTC
    ],
)
def test_datetimes_parse_to_aware_values(text: str, expected: datetime) -> None:
    parsed = parse_datetime(text)

    assert parsed.tzinfo is not None
    assert parsed == expected


def test_an_offset_is_kept_not_converted() -> None:
    parsed = parse_datetime("2026-06-07T07:00:00+07:00")

    assert parsed.utcoffset() == timedelta(hours=7)


def test_format_datetime_converts_to_utc_z() -> None:
    wib = timezone(timedelta(hours=7))

    assert format_datetime(datetime(2026, 6, 7, 7, 30, tzinfo=wib)) == "2026-06-07T00:30:00Z"


@pytest.mark.parametrize(
    ("header", "expected"),
    [("1", 1.0), ("0", 0.0), ("-5", 0.0), ("soon", None), (None, None), ("", None), ("inf", None)],
)
def test_retry_after_seconds(header: str | None, expected: float | None) -> None:
    assert parse_retry_after(header) == expected


def test_retry_after_http_date_is_seconds_from_now() -> None:
    now = datetime(2026, 11, 24, 12, 0, tzinfo=UTC)

    assert parse_retry_after("Tue, 24 Nov 2026 12:00:30 GMT", now=now) == 30.0


def test_the_seeds_short_link_payload_parses_with_defaults() -> None:
    link = Link.from_dict(LINK)

    assert link.created_at == datetime(2026, 6, 7, tzinfo=UTC)
    assert (link.description, link.expires_at, link.updated_at) == (None, None, None)
    assert (link.has_password, link.clicks) == (False, 0)


def test_links_are_frozen() -> None:
    link = Link.from_dict(LINK)

    with pytest.raises(AttributeError):
        link.title = "changed"  # type: ignore[misc]


@pytest.mark.parametrize(
    ("change", "error"),
    [
        ({"id": None}, TypeError),
        ({"clicks": "7"}, TypeError),
        ({"clicks": True}, TypeError),
        ({"has_password": "no"}, TypeError),
        ({"created_at": "yesterday"}, ValueError),
    ],
)
def test_wrong_types_are_refused(change: dict[str, object], error: type[Exception]) -> None:
    with pytest.raises(error):
        Link.from_dict({**LINK, **change})


def test_a_missing_required_field_is_refused() -> None:
    payload = {k: v for k, v in LINK.items() if k != "short_url"}

    with pytest.raises(KeyError):
        Link.from_dict(payload)


def test_an_empty_next_cursor_means_the_last_page() -> None:
    page = LinkPage.from_dict({"items": [LINK], "next_cursor": ""})

    assert page.next_cursor is None
    assert len(page.items) == 1
