"""Bio Pages: ``GET``/``PUT /api/v1/bio`` (validation, namespace, counting) and the page at
``/{handle}``, rendered escaped."""

from __future__ import annotations

from typing import Any

import httpx

from kliqs_testing.servers import ApiAccount
from public_support import create_link, unique_slug

BIO = "/api/v1/bio"


def _page(**fields: Any) -> dict[str, Any]:
    return {
        "handle": unique_slug("toko"),
        "display_name": "Toko Budi",
        "text": "Kaos dan sepatu lokal.\nBuka tiap hari.",
        "links": [{"title": "Shopee", "url": "https://shopee.co.id/tokobudi"},
                  {"title": "WhatsApp", "url": "https://wa.me/628123456789"}],
        **fields,
    }


def _put(http: httpx.Client, account: ApiAccount, body: dict[str, Any]) -> httpx.Response:
    return http.put(BIO, json=body, headers=account.auth)


def _error(resp: httpx.Response) -> tuple[int, str]:
    return resp.status_code, resp.json()["error"]


def test_get_before_put_is_not_found_and_put_creates_the_page(
    http: httpx.Client, account: ApiAccount
) -> None:
    assert _error(http.get(BIO, headers=account.auth)) == (404, "NOT_FOUND")
    body = _page(handle=unique_slug("Toko-Budi"))
    saved = _put(http, account, body)
    assert saved.status_code == 200, saved.text
    data = saved.json()["data"]
    assert data["handle"] == body["handle"].lower()
    assert data["url"].endswith(f"/{data['handle']}")
    assert data["links"] == body["links"] and data["display_name"] == "Toko Budi"
    assert data["updated_at"].endswith("Z")
    read = http.get(BIO, headers=account.auth)
    assert read.json()["data"] == data
    assert int(read.headers["x-ratelimit-remaining"]) == int(saved.headers[
        "x-ratelimit-remaining"]) - 1  # counted like every API request


def test_page_renders_the_links_in_order_for_phones(
    http: httpx.Client, account: ApiAccount
) -> None:
    body = _page()
    _put(http, account, body).raise_for_status()
    page = http.get(f"/{body['handle'].upper()}")
    assert page.status_code == 200
    assert page.headers["content-type"] == "text/html; charset=utf-8"
    assert '<meta name="viewport" content="width=device-width, initial-scale=1">' in page.text
    assert page.text.index("Shopee") < page.text.index("WhatsApp")
    assert 'href="https://wa.me/628123456789"' in page.text
    assert "Dibuat dengan Kliqs" in page.text
    assert "Made with Kliqs" in http.get(f"/{body['handle']}",
                                         headers={"Accept-Language": "en"}).text


def test_script_injection_in_bio_fields_is_rendered_escaped(
    http: httpx.Client, account: ApiAccount
) -> None:
    attack = '<script>alert("x")</script>'
    body = _page(display_name=f"{attack}Budi", text=f'Halo {attack} "><img src=x onerror=alert(1)>',
                 links=[{"title": f'{attack}"><b>', "url": "https://toko.id/?q=<script>"}])
    _put(http, account, body).raise_for_status()
    html = http.get(f"/{body['handle']}").text
    assert "<script>" not in html and "<img" not in html and "<b>" not in html
    assert "&lt;script&gt;alert(&#34;x&#34;)&lt;/script&gt;Budi" in html
    assert "&#34;&gt;&lt;img src=x onerror=alert(1)&gt;" in html
    assert 'href="https://toko.id/?q=%3Cscript%3E"' in html  # stored percent-encoded


def test_put_validation_answers_the_contract_codes(
    http: httpx.Client, account: ApiAccount
) -> None:
    cases = [
        (_page(handle="ab"), (400, "INVALID_SLUG")),
        (_page(handle="-toko-"), (400, "INVALID_SLUG")),
        (_page(handle="Dash"), (400, "RESERVED_SLUG")),
        (_page(links=[{"title": "x", "url": "javascript:alert(1)"}]), (400, "INVALID_URL")),
        (_page(links=[{"title": "x", "url": "ftp://toko.id"}]), (400, "INVALID_URL")),
        (_page(links=[{"title": "x", "url": "https://toko.id"}] * 51),
         (400, "VALIDATION_ERROR")),
        (_page(text="x" * 1001), (400, "VALIDATION_ERROR")),
        (_page(display_name="x" * 101), (400, "VALIDATION_ERROR")),
        (_page(display_name=" "), (400, "VALIDATION_ERROR")),
        (_page(links=[{"title": "x"}]), (400, "VALIDATION_ERROR")),
        (_page(extra=1), (400, "VALIDATION_ERROR")),
        (_page(text="nul \x00 byte"), (400, "VALIDATION_ERROR")),
        ({"display_name": "Budi"}, (400, "VALIDATION_ERROR")),
    ]
    for body, expected in cases:
        assert _error(_put(http, account, body)) == expected, body
    assert _error(http.put(BIO, content=b"[1]", headers=account.auth)) == (400,
                                                                          "VALIDATION_ERROR")
    assert _error(http.put(BIO, json=_page())) == (401, "UNAUTHORIZED")
    fine = _put(http, account, _page(text="x" * 1000,
                                     links=[{"title": "x", "url": "https://toko.id"}] * 50))
    assert fine.status_code == 200


def test_handles_share_the_namespace_with_link_codes(
    live_server: Any, http: httpx.Client, account: ApiAccount
) -> None:
    code = create_link(http, account, slug=unique_slug("kode"))["short_code"]
    assert _error(_put(http, account, _page(handle=code))) == (409, "SLUG_ALREADY_EXISTS")
    body = _page()
    _put(http, account, body).raise_for_status()
    taken = http.post("/api/v1/links", json={"url": "https://toko.id", "slug": body["handle"]},
                      headers=account.auth)
    assert _error(taken) == (409, "SLUG_ALREADY_EXISTS")
    other = live_server.new_account("pro")
    assert _error(_put(http, other, _page(handle=body["handle"].upper()))) == (
        409, "SLUG_ALREADY_EXISTS")


def test_changing_the_handle_moves_the_page_and_keeps_the_old_one_taken(
    live_server: Any, http: httpx.Client, account: ApiAccount
) -> None:
    first = _page()
    _put(http, account, first).raise_for_status()
    assert http.get(f"/{first['handle']}").status_code == 200  # cached in this worker
    second = _page(display_name="Toko Budi Baru")
    resaved = _put(http, account, second)
    assert resaved.status_code == 200
    assert http.get(f"/{first['handle']}").status_code == 404
    assert "Toko Budi Baru" in http.get(f"/{second['handle']}").text
    unchanged = _put(http, account, {**second, "text": "baru"})  # same handle: no new claim
    assert unchanged.status_code == 200
    other = live_server.new_account("pro")
    assert _error(_put(http, other, _page(handle=first["handle"]))) == (409,
                                                                       "SLUG_ALREADY_EXISTS")
