"""Every dashboard form refuses a post without its CSRF token (SQLite and PostgreSQL)."""

from __future__ import annotations

import httpx
import pytest
from dash_support import PASSWORD, Users
from kliqs_testing.servers import ProcessServer
from sqlalchemy import text


def _count(server: ProcessServer, sql: str, **params: str) -> int:
    with server.engine.connect() as conn:
        return int(conn.execute(text(sql), params).scalar_one())


def test_signed_in_forms_refuse_a_post_without_the_token(
    live_server: ProcessServer, users: Users
) -> None:
    user = users.new()
    key = user.create_key("first")
    user.post("/dash/links", {"url": "https://tokoku.id/a", "slug": f"k{key[-6:].lower()}"})
    links_page = user.get("/dash/links").text
    link_id = links_page.split('href="/dash/links/')[1].split('"')[0]
    key_id = user.get("/dash/settings/api-keys").text.split("/dash/settings/api-keys/")[1].split("/")[0]
    forms = {
        "/dash/links": {"url": "https://tokoku.id/b"},
        f"/dash/links/{link_id}/delete": {},
        "/dash/settings/api-keys": {"name": "sneaky"},
        f"/dash/settings/api-keys/{key_id}/revoke": {},
        "/dash/settings/api-keys/self-test": {"key": key},
        "/dash/bio": {"handle": "sneaky-page", "display_name": "Sneaky"},
        "/dash/logout": {},
    }
    for path, data in forms.items():
        for csrf in (None, "", "forged-token"):
            answer = user.post(path, data, csrf=csrf)
            assert answer.status_code == 403, (path, csrf)
            assert "Formulir kedaluwarsa" in answer.text
    account = {"email": user.email}
    where = "(SELECT id FROM accounts WHERE email = :email)"
    assert _count(live_server, f"SELECT count(*) FROM links WHERE account_id = {where} "
                  "AND deleted_at IS NULL", **account) == 1
    assert _count(live_server, f"SELECT count(*) FROM api_keys WHERE account_id = {where} "
                  "AND revoked_at IS NULL", **account) == 1
    assert _count(live_server, f"SELECT count(*) FROM bio_pages WHERE account_id = {where}",
                  **account) == 0
    assert user.get("/dash").status_code == 200  # still signed in: log-out was refused too


def test_a_token_from_another_session_is_refused(users: Users) -> None:
    alice, mallory = users.new(), users.new()
    stolen = mallory.token("/dash/links")
    answer = alice.post("/dash/links", {"url": "https://tokoku.id/c"}, csrf=stolen)
    assert answer.status_code == 403
    assert alice.post("/dash/links", {"url": "https://tokoku.id/c"}).status_code == 303


def test_the_token_dies_with_the_session(users: Users) -> None:
    user = users.new()
    old = user.token("/dash/links")
    user.post("/dash/logout", {}, token_from="/dash")
    assert user.login().status_code == 303
    assert user.post("/dash/links", {"url": "https://tokoku.id/d"}, csrf=old).status_code == 403


@pytest.mark.parametrize("path", ["/dash/login", "/dash/signup"])
def test_signed_out_forms_need_the_double_submit_token(
    live_server: ProcessServer, path: str
) -> None:
    email = live_server.new_account(password=PASSWORD).email
    with httpx.Client(base_url=live_server.url) as client:
        form = {"email": email, "password": PASSWORD}
        assert client.post(path, data=form).status_code == 403  # no cookie, no field
        client.cookies.set("kliqs_csrf", "a" * 43)
        assert client.post(path, data={**form, "csrf": "b" * 43}).status_code == 403
        assert client.post(path, data=form).status_code == 403  # cookie without the field
        assert client.cookies.get("kliqs_session") is None
