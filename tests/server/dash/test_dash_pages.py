"""Page-level behaviour: language choice, security headers, static files, https cookies."""

from __future__ import annotations

import re
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest
from dash_support import csrf_of, unique_email
from kliqs_testing.databases import make_database
from kliqs_testing.servers import ProcessServer


@pytest.fixture(scope="module")
def server(sqlite_server: ProcessServer) -> ProcessServer:
    return sqlite_server


def test_indonesian_first_english_by_header_or_by_the_switch(server: ProcessServer) -> None:
    with httpx.Client(base_url=server.url) as client:
        assert "<h1>Masuk</h1>" in client.get("/dash/login").text
        english = client.get("/dash/login", headers={"Accept-Language": "en-GB,en;q=0.8"})
        assert '<html lang="en">' in english.text and "<h1>Log in</h1>" in english.text
        switch = client.get("/dash/lang/en", params={"next": "/dash/signup"})
        assert switch.status_code == 303 and switch.headers["location"] == "/dash/signup"
        assert "<h1>Sign up</h1>" in client.get("/dash/signup").text  # the cookie now decides
        client.get("/dash/lang/id", params={"next": "https://evil.example/"})
        page = client.get("/dash/signup", headers={"Accept-Language": "en"})
        assert "<h1>Daftar</h1>" in page.text


def test_pages_forbid_framing_inline_script_and_caching(server: ProcessServer) -> None:
    with httpx.Client(base_url=server.url) as client:
        page = client.get("/dash/login")
    csp = page.headers["content-security-policy"]
    assert "script-src 'self'" in csp and "frame-ancestors 'none'" in csp
    assert "unsafe-inline" not in csp
    assert page.headers["x-frame-options"] == "DENY"
    assert page.headers["cache-control"] == "no-store"
    assert "<script>" not in page.text and " style=" not in page.text  # nothing inline


def test_static_files_are_served_and_nothing_loads_from_elsewhere(server: ProcessServer) -> None:
    with httpx.Client(base_url=server.url) as client:
        css = client.get("/dash/static/dash.css")
        js = client.get("/dash/static/dash.js")
        page = client.get("/dash/signup").text
    assert css.status_code == 200 and "text/css" in css.headers["content-type"]
    assert js.status_code == 200 and "javascript" in js.headers["content-type"]
    assets = re.findall(r'<(?:script|link|img)[^>]+(?:src|href)="([^"]+)"', page)
    assert assets and all(a.startswith(("/dash/static/", "data:")) for a in assets)
    assert "@import" not in css.text and "url(" not in css.text
    assert "fetch(" not in js.text and "import(" not in js.text


def test_unknown_dashboard_pages_answer_an_html_404(server: ProcessServer) -> None:
    with httpx.Client(base_url=server.url) as client:
        page = client.get("/dash/tidak-ada")
    assert page.status_code == 404 and page.headers["content-type"].startswith("text/html")


@pytest.fixture(scope="module")
def https_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[ProcessServer]:
    """A server whose public base URL is https (served over http here, as behind a proxy)."""
    folder: Path = tmp_path_factory.mktemp("https")
    server = ProcessServer(make_database("sqlite", folder), folder,
                           env={"KLIQS_PUBLIC_BASE_URL": "https://kliqs.example"}).start()
    yield server
    server.stop()


def test_an_https_base_url_makes_the_cookies_secure(https_server: ProcessServer) -> None:
    with httpx.Client(base_url=https_server.url) as client:
        form = client.get("/dash/signup")
        pre = form.headers["set-cookie"]
        assert pre.startswith("__Host-kliqs_csrf=") and "Secure" in pre
        token = csrf_of(form.text)
        answer = client.post(
            "/dash/signup", data={"csrf": token, "email": unique_email(), "password": "rahasia-123"},
            headers={"Cookie": f"__Host-kliqs_csrf={token}"},  # a plain-http client keeps it back
        )
    assert answer.status_code == 303
    session = answer.headers["set-cookie"]
    assert session.startswith("__Host-kliqs_session=")
    assert "Secure" in session and "HttpOnly" in session and "Path=/" in session
