"""Links in the dashboard over real HTTP: create with every field, list, search, page,
delete, and the click statistics (SQLite and PostgreSQL)."""

from __future__ import annotations

import re
import time

import httpx
from dash_support import PASSWORD, DashUser, Users
from kliqs_testing.servers import ProcessServer

ANDROID = ("Mozilla/5.0 (Linux; Android 14; Pixel 8) AppleWebKit/537.36 (KHTML, like Gecko) "
           "Chrome/126.0 Mobile Safari/537.36")


def _signed_in(users: Users, server: ProcessServer, plan: str) -> tuple[DashUser, str]:
    account = server.new_account(plan, password=PASSWORD)
    user = users.new(signup=False, email=account.email)
    assert user.login().status_code == 303
    return user, account.key


def _codes(page: str) -> list[str]:
    return re.findall(r'<li class="item card" data-code="([^"]+)"', page)


def test_a_link_made_with_every_field_is_what_the_api_returns(
    live_server: ProcessServer, users: Users
) -> None:
    user, key = _signed_in(users, live_server, "free")
    answer = user.post("/dash/links", {
        "url": "https://tokoku.id/produk/sepatu", "slug": "Sepatu-Merah", "title": "Sepatu Merah",
        "description": "Ukuran 38–44", "expires_at": "2099-01-02T03:04", "tz_offset": "420",
        "password": "rahasia",
    }, token_from="/dash/links")
    assert answer.status_code == 303
    assert answer.headers["location"] == "/dash/links?msg=created&code=sepatu-merah"
    shown = user.get(answer.headers["location"]).text
    assert f'value="{live_server.url}/sepatu-merah"' in shown  # the new short URL, to copy
    with httpx.Client(base_url=live_server.url) as api:
        data = api.get("/api/v1/links/sepatu-merah",
                       headers={"Authorization": f"Bearer {key}"}).json()["data"]
    assert data["title"] == "Sepatu Merah" and data["description"] == "Ukuran 38–44"
    assert data["expires_at"] == "2099-01-01T20:04:00Z"  # 03:04 at UTC+7
    assert data["has_password"] is True


def test_a_refused_link_says_why_and_keeps_what_was_typed(
    live_server: ProcessServer, users: Users
) -> None:
    user, _ = _signed_in(users, live_server, "free")
    cases = {
        "admin": (400, "Slug termasuk daftar terlarang."),
        "a": (400, "Slug harus 3–64 karakter"),
    }
    for slug, (status, message) in cases.items():
        answer = user.post("/dash/links", {"url": "https://tokoku.id/x", "slug": slug,
                                           "title": "Judul <b>ku</b>"})
        assert answer.status_code == status and message in answer.text
        assert 'value="https://tokoku.id/x"' in answer.text
        assert 'value="Judul &lt;b&gt;ku&lt;/b&gt;"' in answer.text  # autoescaped
    user.post("/dash/links", {"url": "https://tokoku.id/x", "slug": "dipakai-dulu"})
    taken = user.post("/dash/links", {"url": "https://tokoku.id/y", "slug": "DIPAKAI-dulu"})
    assert taken.status_code == 409 and "Slug sudah dipakai." in taken.text
    past = user.post("/dash/links", {"url": "https://tokoku.id/x", "expires_at": "2001-01-01T00:00"})
    assert past.status_code == 400 and "expires_at" in past.text


def test_the_list_is_newest_first_searchable_and_paged(
    live_server: ProcessServer, users: Users
) -> None:
    user, key = _signed_in(users, live_server, "starter")
    made = []
    with httpx.Client(base_url=live_server.url) as api:
        for n in range(23):
            body = {"url": f"https://tokoku.id/p/{n}", "title": "Kaos" if n % 5 == 0 else "Topi"}
            answer = api.post("/api/v1/links", json=body, headers={"Authorization": f"Bearer {key}"})
            assert answer.status_code == 201, answer.text
            made.append(answer.json()["data"]["short_code"])
    first = user.get("/dash/links").text
    assert _codes(first) == made[::-1][:20]
    cursor = re.search(r'href="/dash/links\?cursor=([^"&]+)"', first)
    assert cursor
    second = user.get(f"/dash/links?cursor={cursor.group(1)}").text
    assert _codes(second) == made[::-1][20:]
    assert 'data-testid="next-page"' not in second
    assert _codes(user.get("/dash/links?q=kaos").text) == [made[n] for n in (20, 15, 10, 5, 0)]
    assert 'data-testid="empty"' in user.get("/dash/links?q=tidak-ada-apa-apa").text
    assert _codes(user.get("/dash/links?cursor=rusak!!").text) == made[::-1][:20]


def test_deleting_asks_first_then_the_short_link_is_gone(
    live_server: ProcessServer, users: Users
) -> None:
    user, _ = _signed_in(users, live_server, "free")
    user.post("/dash/links", {"url": "https://tokoku.id/hapus", "slug": "hapus-aku"})
    link_id = re.search(r'href="/dash/links/([0-9a-f-]{36})"', user.get("/dash/links").text)
    assert link_id
    confirm = user.get(f"/dash/links/{link_id.group(1)}/delete")
    assert confirm.status_code == 200 and "tidak bisa dibatalkan" in confirm.text
    with httpx.Client(base_url=live_server.url) as public:
        assert public.get("/hapus-aku").status_code == 302
        answer = user.post(f"/dash/links/{link_id.group(1)}/delete", {})
        assert answer.status_code == 303 and "msg=deleted" in answer.headers["location"]
        assert public.get("/hapus-aku").status_code == 410
    assert "hapus-aku" not in user.get("/dash/links").text
    assert re.search(r'data-testid="links">0 / 5<', user.get("/dash").text)


def test_a_visit_shows_up_in_the_links_clicks_chart_and_top_lists(
    live_server: ProcessServer, users: Users
) -> None:
    user, _ = _signed_in(users, live_server, "free")
    user.post("/dash/links", {"url": "https://tokoku.id/klik", "slug": "klik-aku"})
    with httpx.Client(base_url=live_server.url) as visitor:
        visit = visitor.get("/klik-aku", headers={"Referer": "https://wa.me/6281234",
                                                  "User-Agent": ANDROID})
    assert visit.status_code == 302
    link_id = re.search(r'href="/dash/links/([0-9a-f-]{36})"', user.get("/dash/links").text)
    assert link_id
    deadline = time.monotonic() + 20  # clicks are written in batches, off the redirect path
    while True:
        page = user.get(f"/dash/links/{link_id.group(1)}").text
        if 'data-testid="total-clicks">1<' in page or time.monotonic() > deadline:
            break
        time.sleep(0.2)
    assert 'data-testid="total-clicks">1<' in page
    assert page.count('class="bar"') == 1 and page.count('class="bar empty"') == 29
    top = dict(re.findall(r'data-testid="top-(\w+)">\s*<h3>[^<]*</h3>\s*<ol>\s*<li><span>([^<]*)<',
                          page))
    assert top["referrers"] == "wa.me"
    assert top["devices"] == "mobile"
    assert 'src="' + live_server.url + '/klik-aku/qr.svg"' in page
    assert user.get(f"{live_server.url}/klik-aku/qr.svg").headers["content-type"].startswith(
        "image/svg+xml")
