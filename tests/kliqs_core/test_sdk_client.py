"""One method per endpoint: the request each sends and the typed result each returns.

The answers are recordings of the real server (``fixtures/*.yaml``, see ``sdk_scenarios``):
the server's clock was pinned at 2026-11-24 03:15:00 UTC, one second more per request, and
ids became ``00000000-0000-4000-8000-<n>`` in order of appearance.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from datetime import UTC, date, datetime, timedelta, timezone
from urllib.parse import parse_qsl, urlsplit

import pytest
import requests
import responses

from kliqs_core import UNSET, KliqsClient, Link, NotFoundError
from kliqs_core.sessions import CachedEnvSession

Load = Callable[[str], None]  # the conftest's `load` fixture

LINK_ID = "00000000-0000-4000-8000-000000000001"  # the first id of a recording
RECORDED_AT = datetime(2026, 11, 24, 3, 15, tzinfo=UTC)  # sdk_stage.FIXED_NOW
API_KEY = "kliqs_sk_live_TESTtestTESTtestTESTtestTESTx9Qz"
WIB = timezone(timedelta(hours=7))  # Western Indonesia Time


def _query(url: str | None) -> dict[str, str]:
    assert url is not None
    return dict(parse_qsl(urlsplit(url).query))


def _body(api: responses.RequestsMock, index: int = -1) -> dict[str, object]:
    body = api.calls[index].request.body
    assert body is not None
    parsed = json.loads(body)
    assert isinstance(parsed, dict)
    return parsed


def test_create_link_sends_the_fields_with_bearer_auth_and_returns_a_link(
    client: KliqsClient, api: responses.RequestsMock, load: Load
) -> None:
    load("create_link")

    link = client.create_link("https://marketku.id/products/1", slug="vps-murah", title="VPS Murah")

    request = api.calls[0].request
    assert request.headers["Authorization"] == f"Bearer {API_KEY}"
    assert request.headers["Accept"] == "application/json"
    assert request.headers["User-Agent"].startswith("kliqs-python/")
    assert _body(api) == {
        "url": "https://marketku.id/products/1",
        "slug": "vps-murah",
        "title": "VPS Murah",
    }
    assert link == Link(
        id=LINK_ID,
        short_code="vps-murah",
        short_url="http://kliqs.test/vps-murah",
        destination_url="https://marketku.id/products/1",
        title="VPS Murah",
        description=None,
        expires_at=None,
        has_password=False,
        clicks=0,
        created_at=RECORDED_AT,
        updated_at=RECORDED_AT,
    )


def test_create_link_parses_every_optional_field(
    client: KliqsClient, load: Load
) -> None:
    load("create_link_full")

    link = client.create_link(
        "https://marketku.id/promo",
        title="Promo 12.12",
        expires_at="2030-12-13T00:00:00Z",
        password="rahasia",
    )

    assert link.description == "Diskon akhir tahun"
    assert link.expires_at == datetime(2030, 12, 13, tzinfo=UTC)
    assert link.has_password is True


@pytest.mark.parametrize(
    ("given", "sent"),
    [
        (datetime(2026, 12, 31, 23, 59, tzinfo=UTC), "2026-12-31T23:59:00Z"),
        (datetime(2027, 1, 1, 6, 59, tzinfo=WIB), "2026-12-31T23:59:00Z"),
        (datetime(2026, 12, 31, 23, 59), "2026-12-31T23:59:00Z"),  # naive is UTC
        ("2027-01-01T06:59:00+07:00", "2027-01-01T06:59:00+07:00"),  # strings pass through
    ],
)
def test_expires_at_is_sent_in_utc_with_z(
    given: datetime | str,
    sent: str,
    client: KliqsClient,
    api: responses.RequestsMock,
    load: Load,
) -> None:
    load("create_link")

    client.create_link("https://marketku.id/products/1", expires_at=given)

    assert _body(api)["expires_at"] == sent


def test_get_link_by_code_counts_its_clicks(client: KliqsClient, load: Load) -> None:
    load("get_link")  # recorded after three visits of /vps-murah

    link = client.get_link("vps-murah")

    assert (link.id, link.short_code, link.clicks) == (LINK_ID, "vps-murah", 3)
    assert link.updated_at == link.created_at == RECORDED_AT


def test_get_link_quotes_the_code_so_it_cannot_reach_another_route(
    client: KliqsClient, api: responses.RequestsMock
) -> None:
    not_found = {"success": False, "error": "NOT_FOUND", "message": "Tidak ditemukan."}
    api.add(responses.GET, "http://kliqs.test/api/v1/links/..%2Fme", json=not_found, status=404)

    with pytest.raises(NotFoundError):
        client.get_link("../me")

    assert api.calls[0].request.url == "http://kliqs.test/api/v1/links/..%2Fme"


def test_list_links_iterates_every_page_lazily(
    client: KliqsClient, api: responses.RequestsMock, load: Load
) -> None:
    load("list_links")

    links = client.list_links(limit=2)
    assert len(api.calls) == 0  # nothing is fetched before iteration
    first = next(links)
    assert len(api.calls) == 1

    codes = [first.short_code] + [link.short_code for link in links]

    assert codes == ["kaos-polos", "tas-kulit", "sepatu-lari", "promo-1212", "vps-murah"]
    assert [_query(call.request.url) for call in api.calls] == [
        {"limit": "2"},
        {"limit": "2", "cursor": "cursor1"},
        {"limit": "2", "cursor": "cursor2"},
    ]


def test_list_links_passes_the_search_query(client: KliqsClient, load: Load) -> None:
    load("search_links")

    assert [link.short_code for link in client.list_links("sepatu")] == ["sepatu-lari"]


def test_list_links_page_returns_items_and_the_next_cursor(
    client: KliqsClient, api: responses.RequestsMock, load: Load
) -> None:
    load("list_links")

    page = client.list_links_page(limit=2)

    assert [link.short_code for link in page.items] == ["kaos-polos", "tas-kulit"]
    assert page.next_cursor == "cursor1"
    api.reset()  # the other two pages are not wanted here


def test_update_link_sends_only_given_fields_and_none_as_null(
    client: KliqsClient, api: responses.RequestsMock, load: Load
) -> None:
    load("update_link")

    link = client.update_link(LINK_ID, title="VPS Murah Banget", password=None)

    assert _body(api) == {"title": "VPS Murah Banget", "password": None}
    assert (link.title, link.has_password) == ("VPS Murah Banget", False)


def test_update_link_leaves_out_an_unset_password(
    client: KliqsClient, api: responses.RequestsMock, load: Load
) -> None:
    load("update_link")

    client.update_link(LINK_ID, title="VPS Murah Banget", password=UNSET)

    assert "password" not in _body(api)


def test_update_link_without_fields_is_refused_before_any_request(client: KliqsClient) -> None:
    with pytest.raises(ValueError, match="at least one field"):
        client.update_link(LINK_ID)


def test_delete_link(client: KliqsClient, api: responses.RequestsMock, load: Load) -> None:
    load("delete_link")

    client.delete_link(LINK_ID)

    assert api.calls[0].request.method == "DELETE"
    assert "Idempotency-Key" not in api.calls[0].request.headers


def test_link_stats_parses_days_and_breakdowns(client: KliqsClient, load: Load) -> None:
    load("link_stats")

    stats = client.link_stats(LINK_ID, days=7)

    # Recorded after 10 visits by people (6 from wa.me, 3 from Instagram, 1 direct from
    # Singapore on Windows) and 2 by Googlebot; people on Android came from 8 addresses.
    assert (stats.link_id, stats.total_clicks, stats.human_clicks, stats.bot_clicks) == (
        LINK_ID, 12, 10, 2)
    assert stats.unique_visitors == 8
    assert [d.date for d in stats.per_day] == [date(2026, 11, 18 + n) for n in range(7)]
    assert [d.clicks for d in stats.per_day] == [0, 0, 0, 0, 0, 0, 10]
    assert [(c.value, c.clicks) for c in stats.referrers] == [
        ("wa.me", 6), ("www.instagram.com", 3), ("(direct)", 1)]
    assert [(c.value, c.clicks) for c in stats.countries] == [("ID", 9), ("SG", 1)]
    assert [(c.value, c.clicks) for c in stats.devices] == [("mobile", 9), ("desktop", 1)]
    assert stats.os[0].value == "Android"
    assert stats.browsers[0].value == "Chrome Mobile"


def test_me_returns_account_plan_key_and_usage(client: KliqsClient, load: Load) -> None:
    load("me")

    me = client.me()

    assert me.account.email == "toko@marketku.id"
    assert me.plan == "starter"
    assert (me.key.name, me.key.last4) == ("server-produksi", "XXXX")  # last4 is normalised
    assert (me.usage.requests_used, me.usage.requests_limit) == (3, 1000)
    assert (me.usage.links_used, me.usage.links_limit) == (2, 50)
    assert me.usage.resets_at == datetime(2026, 12, 1, tzinfo=UTC)


def test_from_env_reads_the_key_and_the_url(api: responses.RequestsMock, load: Load) -> None:
    load("me")

    environ = {"KLIQS_API_KEY": "kliqs_sk_live_env", "KLIQS_API_URL": "http://kliqs.test/"}
    kliqs = KliqsClient.from_env(environ)
    kliqs.me()

    assert kliqs.base_url == "http://kliqs.test"
    assert api.calls[0].request.headers["Authorization"] == "Bearer kliqs_sk_live_env"


def test_from_env_defaults_to_the_public_api() -> None:
    assert KliqsClient.from_env({"KLIQS_API_KEY": "k"}).base_url == "https://api.kliqs.me"


@pytest.mark.parametrize("environ", [{}, {"KLIQS_API_KEY": ""}, {"KLIQS_API_KEY": "  \n"}])
def test_a_missing_key_fails_at_construction_with_a_helpful_message(
    environ: dict[str, str],
) -> None:
    with pytest.raises(ValueError, match="KLIQS_API_KEY") as caught:
        KliqsClient.from_env(environ)

    assert "Settings -> API Keys" in str(caught.value)


def test_a_base_url_without_scheme_is_refused() -> None:
    with pytest.raises(ValueError, match="http"):
        KliqsClient("k", base_url="api.kliqs.me")


def test_the_repr_never_shows_the_key() -> None:
    text = repr(KliqsClient(API_KEY))

    assert API_KEY not in text
    assert text.endswith("api_key='...x9Qz')")


def test_close_closes_only_a_session_the_client_made() -> None:
    closed: list[str] = []

    class Tracked(requests.Session):
        def close(self) -> None:
            closed.append("closed")
            super().close()

    with KliqsClient("k", session=Tracked()):
        pass
    assert closed == []


def test_close_closes_a_session_the_client_made(monkeypatch: pytest.MonkeyPatch) -> None:
    closed: list[str] = []

    class Tracked(CachedEnvSession):
        def close(self) -> None:
            closed.append("closed")
            super().close()

    monkeypatch.setattr("kliqs_core.client.new_session", Tracked)
    with KliqsClient("k"):
        pass
    assert closed == ["closed"]


def test_list_links_stops_when_the_server_repeats_a_cursor(
    client: KliqsClient, api: responses.RequestsMock
) -> None:
    page = {"success": True, "data": {"items": [], "next_cursor": "same"}}
    api.add(responses.GET, "http://kliqs.test/api/v1/links", json=page)

    with pytest.raises(RuntimeError, match="repeated the cursor"):
        list(client.list_links())

    assert len(api.calls) == 2
