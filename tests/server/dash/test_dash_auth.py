"""Sign-up, log-in, log-out and sessions over real HTTP, on SQLite and PostgreSQL."""

from __future__ import annotations

import hashlib
from http.cookies import SimpleCookie

import httpx
from dash_support import PASSWORD, Users
from kliqs_testing.servers import ProcessServer
from sqlalchemy import text


def _cookie(response: httpx.Response, name: str) -> SimpleCookie:
    jar: SimpleCookie = SimpleCookie()
    for value in response.headers.get_list("set-cookie"):
        if value.startswith(f"{name}="):
            jar.load(value)
    assert name in jar, f"no {name} cookie set"
    return jar


def _sessions_of(server: ProcessServer, email: str) -> list[str]:
    with server.engine.connect() as conn:
        return list(conn.execute(text(
            "SELECT s.token_hash FROM dash_sessions s JOIN accounts a ON a.id = s.account_id "
            "WHERE a.email = :email"), {"email": email}).scalars())


def test_signup_signs_in_with_an_http_only_lax_cookie_whose_hash_alone_is_stored(
    live_server: ProcessServer, users: Users
) -> None:
    user = users.new(signup=False)
    answer = user.signup()
    assert answer.status_code == 303
    assert answer.headers["location"] == "/dash?msg=welcome"
    morsel = _cookie(answer, "kliqs_session")["kliqs_session"]
    assert morsel["httponly"] and morsel["samesite"].lower() == "lax"
    assert not morsel["secure"]  # the base URL is plain http here
    assert morsel["path"] == "/"
    assert _sessions_of(live_server, user.email) == [
        hashlib.sha256(morsel.value.encode()).hexdigest()
    ]
    with live_server.engine.connect() as conn:
        password_hash = conn.execute(text("SELECT password_hash FROM accounts WHERE email = :e"),
                                     {"e": user.email}).scalar_one()
    assert password_hash.startswith("$argon2id$")
    overview = user.get("/dash")
    assert overview.status_code == 200 and user.email in overview.text


def test_pages_need_a_session_and_log_in_goes_back_to_the_page_asked_for(users: Users) -> None:
    owner = users.new()
    visitor = users.new(signup=False, email=owner.email)
    for path in ("/dash", "/dash/links", "/dash/settings/api-keys", "/dash/bio"):
        answer = visitor.get(path)
        assert answer.status_code == 303
        assert answer.headers["location"].startswith("/dash/login?next=")
    answer = visitor.login(next="/dash/links")
    assert answer.status_code == 303 and answer.headers["location"] == "/dash/links"
    assert visitor.get("/dash/links").status_code == 200


def test_log_in_never_redirects_off_the_dashboard(users: Users) -> None:
    owner = users.new()
    for target in ("https://evil.example/", "//evil.example/dash", "/dash\\@evil", "/api/v1/me"):
        visitor = users.new(signup=False, email=owner.email)
        answer = visitor.login(next=target)
        assert answer.status_code == 303 and answer.headers["location"] == "/dash", target


def test_wrong_password_or_unknown_email_is_refused_the_same_way(users: Users) -> None:
    owner = users.new()
    wrong = users.new(signup=False, email=owner.email).login(password="not-the-password")
    unknown = users.new(signup=False, email="nobody-here@example.com").login()
    for answer in (wrong, unknown):
        assert answer.status_code == 401
        assert "Email atau password salah." in answer.text
        assert "kliqs_session=" not in answer.headers.get("set-cookie", "")


def test_log_out_ends_the_session_on_the_server(live_server: ProcessServer, users: Users) -> None:
    user = users.new()
    token = user.client.cookies["kliqs_session"]
    answer = user.post("/dash/logout", {}, token_from="/dash")
    assert answer.status_code == 303 and answer.headers["location"] == "/dash/login?msg=logged_out"
    thief = users.new(signup=False)
    thief.client.cookies.set("kliqs_session", token)  # the old cookie, replayed
    assert thief.get("/dash").status_code == 303
    assert _sessions_of(live_server, user.email) == []


def test_each_log_in_gets_a_new_session_and_ends_the_one_it_replaces(
    live_server: ProcessServer, users: Users
) -> None:
    user = users.new()
    first = user.client.cookies["kliqs_session"]
    again = users.new(signup=False, email=user.email)
    again.client.cookies.set("kliqs_session", first)  # a planted (fixated) session id
    again.client.cookies.set("kliqs_csrf", "planted")
    answer = again.post("/dash/login", {"email": user.email, "password": PASSWORD},
                        csrf="planted")
    assert answer.status_code == 303
    second = _cookie(answer, "kliqs_session")["kliqs_session"].value
    assert second != first
    assert _sessions_of(live_server, user.email) == [hashlib.sha256(second.encode()).hexdigest()]


def test_sign_up_refuses_a_taken_email_a_bad_email_and_a_short_password(users: Users) -> None:
    taken = users.new()
    answer = users.new(signup=False, email=taken.email.upper()).signup()
    assert answer.status_code == 400 and "sudah terdaftar" in answer.text
    assert users.new(signup=False, email="not-an-email").signup().status_code == 400
    short = users.new(signup=False)
    short.password = "1234567"
    answer = short.signup()
    assert answer.status_code == 400 and "8–128" in answer.text
    assert short.login(password=PASSWORD).status_code == 401  # no account was made
