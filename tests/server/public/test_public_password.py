"""The password gate over real HTTP: form, CSRF, 401, unlock cookie, lock-out after 5 tries."""

from __future__ import annotations

import re
import uuid

import httpx
import pytest

from kliqs_testing.servers import ApiAccount, ProcessServer
from public_support import create_link, wait_for_clicks

PASSWORD = "rahasia-123"


def _visitor() -> dict[str, str]:
    """Headers of a visitor of its own (the trusted proxy's address header)."""
    n = uuid.uuid4().int
    return {"X-Forwarded-For": f"10.{n % 250}.{n // 250 % 250}.{n // 62500 % 250}"}


def _csrf(page: httpx.Response) -> str:
    found = re.search(r'name="csrf" value="([0-9a-f]+)"', page.text)
    assert found, page.text
    return found.group(1)


@pytest.fixture
def browser(live_server: ProcessServer) -> httpx.Client:
    """A fresh cookie jar and visitor address, like one person's browser."""
    client = live_server.client(headers=_visitor())
    yield client
    client.close()


@pytest.fixture
def protected(http: httpx.Client, account: ApiAccount) -> dict[str, object]:
    return create_link(http, account, url="https://toko.id/rahasia?a=1", password=PASSWORD,
                       title='<script>alert("t")</script> Diskon')


def test_protected_link_shows_the_form_with_the_title_escaped(
    browser: httpx.Client, protected: dict[str, object]
) -> None:
    page = browser.get(f"/{protected['short_code']}")
    assert page.status_code == 200
    assert page.headers["cache-control"] == "no-store"
    assert page.headers["x-robots-tag"] == "noindex"
    assert "default-src 'none'" in page.headers["content-security-policy"]
    assert '<form method="post"' in page.text and 'type="password"' in page.text
    assert "<script>" not in page.text
    assert "&lt;script&gt;alert(&#34;t&#34;)&lt;/script&gt; Diskon" in page.text
    assert "kliqs_gate=" in page.headers["set-cookie"]
    assert "SameSite=Strict" in page.headers["set-cookie"]


def test_right_password_redirects_and_the_cookie_skips_the_form(
    live_server: ProcessServer, browser: httpx.Client, protected: dict[str, object]
) -> None:
    code = protected["short_code"]
    form = browser.get(f"/{code}?utm=ig")
    opened = browser.post(f"/{code}?utm=ig", data={"csrf": _csrf(form), "password": PASSWORD})
    assert opened.status_code == 303
    assert opened.headers["location"] == "https://toko.id/rahasia?a=1&utm=ig"
    cookie = opened.headers["set-cookie"]
    assert cookie.startswith("kliqs_unlock=") and f"Path=/{code}" in cookie
    assert "HttpOnly" in cookie and "Max-Age=1800" in cookie
    again = browser.get(f"/{code}")
    assert again.status_code == 302 and again.headers["location"] == "https://toko.id/rahasia?a=1"
    # The redirect after the form and the one through the cookie are both clicks.
    assert wait_for_clicks(live_server.engine, str(protected["id"]), 2) == 2


def test_wrong_password_shows_the_form_again_with_401(
    browser: httpx.Client, protected: dict[str, object]
) -> None:
    code = protected["short_code"]
    form = browser.get(f"/{code}", headers={"Accept-Language": "en"})
    wrong = browser.post(f"/{code}", data={"csrf": _csrf(form), "password": "salah"},
                         headers={"Accept-Language": "en"})
    assert wrong.status_code == 401
    assert "Wrong password" in wrong.text and 'type="password"' in wrong.text
    assert "kliqs_unlock" not in wrong.headers.get("set-cookie", "")


def test_post_without_the_csrf_pair_is_refused(
    live_server: ProcessServer, browser: httpx.Client, protected: dict[str, object]
) -> None:
    code = protected["short_code"]
    form = browser.get(f"/{code}")
    # Another site's form: the right password, but no nonce cookie (SameSite=Strict).
    with live_server.client(headers=_visitor()) as elsewhere:
        forged = elsewhere.post(f"/{code}", data={"csrf": _csrf(form), "password": PASSWORD})
    assert forged.status_code == 403 and "location" not in forged.headers
    no_token = browser.post(f"/{code}", data={"password": PASSWORD})
    assert no_token.status_code == 403


def test_sixth_wrong_try_in_the_window_answers_429_for_that_visitor_only(
    live_server: ProcessServer, browser: httpx.Client, protected: dict[str, object]
) -> None:
    code = protected["short_code"]
    token = _csrf(browser.get(f"/{code}"))
    for _ in range(5):
        wrong = browser.post(f"/{code}", data={"csrf": token, "password": "tebak-tebak"})
        assert wrong.status_code == 401
    locked = browser.post(f"/{code}", data={"csrf": token, "password": PASSWORD})
    assert locked.status_code == 429  # even the right password, while locked out
    assert 890 <= int(locked.headers["retry-after"]) <= 900
    assert "Terlalu banyak percobaan" in locked.text and 'type="password"' not in locked.text
    with live_server.client(headers=_visitor()) as other:
        other_token = _csrf(other.get(f"/{code}"))
        fine = other.post(f"/{code}", data={"csrf": other_token, "password": PASSWORD})
        assert fine.status_code == 303


def test_unlock_cookie_opens_only_its_link_and_only_until_the_password_changes(
    live_server: ProcessServer, http: httpx.Client, browser: httpx.Client, account: ApiAccount,
    protected: dict[str, object],
) -> None:
    other = create_link(http, account, url="https://toko.id/lain", password=PASSWORD)
    code = protected["short_code"]
    opened = browser.post(f"/{code}", data={"csrf": _csrf(browser.get(f"/{code}")),
                                            "password": PASSWORD})
    unlock = opened.cookies["kliqs_unlock"]
    with live_server.client(headers={**_visitor(), "Cookie": f"kliqs_unlock={unlock}"}) as thief:
        stolen = thief.get(f"/{other['short_code']}")
        assert stolen.status_code == 200 and 'type="password"' in stolen.text
        assert thief.get(f"/{code}").status_code == 302  # the same cookie on its own link
    assert browser.get(f"/{code}").status_code == 302
    changed = http.patch(f"/api/v1/links/{protected['id']}", json={"password": "baru-sekali"},
                         headers=account.auth)
    assert changed.status_code == 200
    assert browser.get(f"/{code}").status_code == 200  # the old unlock no longer opens it
