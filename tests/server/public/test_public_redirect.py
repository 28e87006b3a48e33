"""``/{code}`` over real HTTP: 302 and its headers, HEAD, query pass-through, 404/410 pages,
edits seen at once, app paths untouched, QR codes."""

from __future__ import annotations

import io
import re

import httpx
import pytest
import segno

from kliqs_testing.servers import ApiAccount, ProcessServer
from public_support import create_link, unique_slug, wait_for_clicks


def test_redirect_answers_302_with_the_contract_headers(
    http: httpx.Client, account: ApiAccount
) -> None:
    link = create_link(http, account, url="https://marketku.id/p/kaos")
    ids = set()
    for _ in range(2):  # a miss (database), then a cache hit
        resp = http.get(f"/{link['short_code']}")
        assert resp.status_code == 302
        assert resp.headers["location"] == "https://marketku.id/p/kaos"
        assert resp.headers["cache-control"] == "private, max-age=0"
        assert resp.headers["x-robots-tag"] == "noindex"
        assert re.fullmatch(r"[0-9a-f]{24}", resp.headers["x-request-id"])
        assert "server" not in resp.headers  # nothing about the stack behind
        assert resp.content == b""
        ids.add(resp.headers["x-request-id"])
    assert len(ids) == 2


def test_head_redirects_without_counting_a_click(
    live_server: ProcessServer, http: httpx.Client, account: ApiAccount
) -> None:
    link = create_link(http, account)
    head = http.head(f"/{link['short_code']}")
    assert head.status_code == 302
    assert head.headers["location"] == link["destination_url"]
    assert head.headers["cache-control"] == "private, max-age=0"
    assert http.get(f"/{link['short_code']}").status_code == 302
    assert wait_for_clicks(live_server.engine, link["id"], 1) == 1
    assert wait_for_clicks(live_server.engine, link["id"], 2, timeout=0.5) == 1


@pytest.mark.parametrize(
    ("destination", "query", "location"),
    [
        ("https://toko.id/p", "utm_source=ig", "https://toko.id/p?utm_source=ig"),
        ("https://toko.id/p?ref=1", "utm_source=ig&x=2", "https://toko.id/p?ref=1&utm_source=ig&x=2"),
        ("https://toko.id/p?ref=1#ulasan", "utm=wa", "https://toko.id/p?ref=1&utm=wa#ulasan"),
        ("https://toko.id/p#top", "a=%20b", "https://toko.id/p?a=%20b#top"),
    ],
)
def test_query_string_is_appended_to_the_destination(
    http: httpx.Client, account: ApiAccount, destination: str, query: str, location: str
) -> None:
    link = create_link(http, account, url=destination)
    resp = http.get(f"/{link['short_code']}?{query}")
    assert resp.status_code == 302
    assert resp.headers["location"] == location
    head = http.head(f"/{link['short_code']}?{query}")
    assert head.headers["location"] == location


def test_codes_are_case_insensitive(http: httpx.Client, account: ApiAccount) -> None:
    slug = unique_slug("Promo")
    link = create_link(http, account, slug=slug, url="https://toko.id/promo")
    for variant in (slug, slug.upper(), slug.lower()):
        resp = http.get(f"/{variant}")
        assert resp.status_code == 302 and resp.headers["location"] == "https://toko.id/promo"
    assert link["short_code"] == slug.lower()


def test_unknown_code_answers_a_branded_404_page_in_the_visitors_language(
    http: httpx.Client,
) -> None:
    default = http.get(f"/{unique_slug('nope')}")
    assert default.status_code == 404
    assert default.headers["content-type"] == "text/html; charset=utf-8"
    assert '<html lang="id">' in default.text and "Link tidak ditemukan" in default.text
    english = http.get(f"/{unique_slug('nope')}", headers={"Accept-Language": "en-US,en;q=0.9"})
    assert english.status_code == 404
    assert '<html lang="en">' in english.text and "Link not found" in english.text
    assert http.get("/x").status_code == 404  # not even a well-formed code
    assert http.head(f"/{unique_slug('nope')}").status_code == 404


def test_edit_and_delete_take_effect_at_once_on_the_same_worker(
    http: httpx.Client, account: ApiAccount
) -> None:
    link = create_link(http, account, url="https://toko.id/lama")
    code = link["short_code"]
    assert http.get(f"/{code}").headers["location"] == "https://toko.id/lama"  # now cached
    patched = http.patch(f"/api/v1/links/{link['id']}", json={"url": "https://toko.id/baru"},
                         headers=account.auth)
    assert patched.status_code == 200
    assert http.get(f"/{code}").headers["location"] == "https://toko.id/baru"
    assert http.delete(f"/api/v1/links/{link['id']}", headers=account.auth).status_code == 200
    gone = http.get(f"/{code}", headers={"Accept-Language": "en"})
    assert gone.status_code == 410
    assert "no longer active" in gone.text
    assert "Link sudah tidak aktif" in http.get(f"/{code}").text


def test_paths_the_app_owns_pass_through(http: httpx.Client) -> None:
    assert http.get("/healthz").json() == {"success": True, "data": {"status": "ok"}}
    me = http.get("/api/v1/me")
    assert me.status_code == 401 and me.json()["error"] == "UNAUTHORIZED"
    assert http.get("/docs").status_code == 200
    for reserved in ("/login", "/admin", "/robots.txt"):
        resp = http.get(reserved)  # reserved words are never codes: FastAPI answers them
        assert resp.headers["content-type"].startswith("application/json"), reserved
    assert http.get("/api/v1/nope").json()["error"] == "NOT_FOUND"


def test_other_methods_answer_405_with_allow(http: httpx.Client, account: ApiAccount) -> None:
    link = create_link(http, account)
    resp = http.put(f"/{link['short_code']}")
    assert resp.status_code == 405
    assert resp.headers["allow"] == "GET, HEAD"
    assert http.post(f"/{link['short_code']}").status_code == 405  # no password: no form


def test_qr_codes_encode_the_short_url(
    live_server: ProcessServer, http: httpx.Client, account: ApiAccount
) -> None:
    link = create_link(http, account, slug=unique_slug("QR"))
    svg = http.get(f"/{link['short_code'].upper()}/qr.svg")
    assert svg.status_code == 200
    assert svg.headers["content-type"] == "image/svg+xml"
    assert svg.headers["cache-control"] == "public, max-age=86400"
    png = http.get(f"/{link['short_code']}/qr.png")
    assert png.headers["content-type"] == "image/png"
    assert png.content.startswith(b"\x89PNG\r\n\x1a\n")
    expected = io.BytesIO()
    segno.make(link["short_url"], error="m", micro=False).save(expected, kind="png", scale=8,
                                                               border=4)
    assert png.content == expected.getvalue()
    assert link["short_url"] == f"{live_server.url}/{link['short_code']}"
    assert http.get(f"/{unique_slug('none')}/qr.svg").status_code == 404
    assert http.head(f"/{link['short_code']}/qr.svg").content == b""
