"""The links API end to end: create with every field, read, list, search, update, delete."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import httpx
import pytest

from kliqs_testing.servers import ApiAccount, ProcessServer

LINKS = "/api/v1/links"


@pytest.fixture(scope="module")
def http(live_server: ProcessServer) -> httpx.Client:
    with live_server.client() as client:
        yield client


@pytest.fixture
def account(live_server: ProcessServer) -> ApiAccount:
    return live_server.new_account("pro")


def create(http: httpx.Client, account: ApiAccount, **body: object) -> dict[str, object]:
    resp = http.post(LINKS, json={"url": "https://marketku.id/p/1", **body}, headers=account.auth)
    assert resp.status_code == 201, resp.text
    return resp.json()["data"]


def test_create_with_every_field_answers_the_contract_shape(
    live_server: ProcessServer, http: httpx.Client, account: ApiAccount
) -> None:
    expires = (datetime.now(UTC) + timedelta(days=3)).replace(microsecond=0)
    slug = f"VPS-Murah-{account.id[:6]}"
    data = create(
        http, account, slug=slug, title="VPS Murah", description="Product link from Marketku",
        expires_at=expires.strftime("%Y-%m-%dT%H:%M:%S"), password="rahasia",
    )
    assert set(data) == {
        "id", "short_code", "short_url", "destination_url", "title", "description",
        "expires_at", "has_password", "clicks", "created_at", "updated_at",
    }
    assert data["short_code"] == slug.lower()
    assert data["short_url"] == f"{live_server.url}/{slug.lower()}"
    assert data["destination_url"] == "https://marketku.id/p/1"
    assert data["expires_at"] == expires.strftime("%Y-%m-%dT%H:%M:%SZ")  # offset-less is UTC
    assert data["has_password"] is True and "password" not in data
    assert data["clicks"] == 0
    assert data["created_at"].endswith("Z")


def test_generated_codes_avoid_look_alikes(http: httpx.Client, account: ApiAccount) -> None:
    codes = [create(http, account)["short_code"] for _ in range(10)]
    codes.append(create(http, account, slug="")["short_code"])
    for code in codes:
        assert len(code) == 7
        assert not set(code) & set("0o1liABCDEFGHIJKLMNOPQRSTUVWXYZ")
    assert len(set(codes)) == len(codes)


def test_expires_at_with_offset_is_stored_in_utc(http: httpx.Client, account: ApiAccount) -> None:
    data = create(http, account, expires_at="2099-01-01T07:00:00+07:00")
    assert data["expires_at"] == "2099-01-01T00:00:00Z"


def test_get_by_id_and_by_code(http: httpx.Client, account: ApiAccount) -> None:
    data = create(http, account, slug=f"Get-Me-{account.id[:6]}")
    by_id = http.get(f"{LINKS}/{data['id']}", headers=account.auth).json()["data"]
    by_code = http.get(f"{LINKS}/{str(data['short_code']).upper()}", headers=account.auth)
    assert by_id == data == by_code.json()["data"]


def test_list_is_newest_first_with_cursor_pages_and_search(
    http: httpx.Client, account: ApiAccount
) -> None:
    made = [create(http, account, title=f"Kaos {i}")["id"] for i in range(7)]
    made.append(create(http, account, title="Sepatu Lari 100%_asli")["id"])
    seen: list[str] = []
    cursor = None
    while True:
        params = {"limit": "3", **({"cursor": cursor} if cursor else {})}
        page = http.get(LINKS, params=params, headers=account.auth).json()["data"]
        seen += [item["id"] for item in page["items"]]
        cursor = page["next_cursor"]
        if cursor is None:
            break
    assert seen == list(reversed(made))
    found = http.get(LINKS, params={"q": "sepatu"}, headers=account.auth).json()["data"]["items"]
    assert [i["title"] for i in found] == ["Sepatu Lari 100%_asli"]
    literal = http.get(LINKS, params={"q": "100%_"}, headers=account.auth).json()["data"]["items"]
    assert len(literal) == 1  # % and _ are matched literally
    none = http.get(LINKS, params={"q": "0%"}, headers=account.auth).json()["data"]["items"]
    assert [i["title"] for i in none] == ["Sepatu Lari 100%_asli"]


@pytest.mark.parametrize("params", [{"limit": "0"}, {"limit": "101"}, {"limit": "x"},
                                    {"cursor": "%%%"}, {"cursor": "bm90LWEtY3Vyc29y"},
                                    {"cursor": "MjAyNi0wMS0wMXwAAA"}, {"q": "a\x00b"}])
def test_bad_list_parameters(http: httpx.Client, account: ApiAccount, params: dict[str, str]) -> None:
    resp = http.get(LINKS, params=params, headers=account.auth)
    assert resp.status_code == 400
    assert resp.json()["error"] == "VALIDATION_ERROR"


def test_links_of_another_account_are_invisible(
    live_server: ProcessServer, http: httpx.Client, account: ApiAccount
) -> None:
    data = create(http, account)
    other = live_server.new_account()
    for method in ("GET", "DELETE"):
        resp = http.request(method, f"{LINKS}/{data['id']}", headers=other.auth)
        assert resp.status_code == 404 and resp.json()["error"] == "NOT_FOUND"
    resp = http.patch(f"{LINKS}/{data['id']}", json={"title": "x"}, headers=other.auth)
    assert resp.status_code == 404
    assert http.get(LINKS, headers=other.auth).json()["data"]["items"] == []


def test_patch_changes_fields_and_null_clears_them(http: httpx.Client, account: ApiAccount) -> None:
    data = create(http, account, title="Lama", description="desc", password="rahasia",
                  expires_at="2099-01-01T00:00:00Z")
    new_slug = f"baru-{account.id[:6]}"
    resp = http.patch(
        f"{LINKS}/{data['id']}",
        json={"url": "https://marketku.id/p/2", "title": "Baru", "slug": new_slug,
              "password": None, "expires_at": None, "description": None},
        headers=account.auth,
    )
    assert resp.status_code == 200, resp.text
    patched = resp.json()["data"]
    assert patched["destination_url"] == "https://marketku.id/p/2"
    assert patched["title"] == "Baru"
    assert patched["short_code"] == new_slug
    assert patched["has_password"] is False
    assert patched["expires_at"] is None and patched["description"] is None
    assert patched["id"] == data["id"] and patched["created_at"] == data["created_at"]


@pytest.mark.parametrize(
    ("body", "code"),
    [({"url": None}, "VALIDATION_ERROR"), ({"url": "javascript:x"}, "INVALID_URL"),
     ({"slug": "a/b"}, "INVALID_SLUG"), ({"expires_at": "2001-01-01"}, "INVALID_EXPIRES_AT"),
     ({"title": 5}, "VALIDATION_ERROR"), ({"nope": 1}, "VALIDATION_ERROR")],
)
def test_patch_validates_like_create(
    http: httpx.Client, account: ApiAccount, body: dict[str, object], code: str
) -> None:
    data = create(http, account)
    resp = http.patch(f"{LINKS}/{data['id']}", json=body, headers=account.auth)
    assert resp.status_code == 400 and resp.json()["error"] == code


def test_delete_then_gone_and_code_never_reissued(
    live_server: ProcessServer, http: httpx.Client, account: ApiAccount
) -> None:
    slug = f"hapus-{account.id[:6]}"
    data = create(http, account, slug=slug)
    resp = http.delete(f"{LINKS}/{data['id']}", headers=account.auth)
    assert resp.status_code == 200
    assert resp.json() == {"success": True, "data": {"id": data["id"], "deleted": True}}
    assert http.get(f"{LINKS}/{data['id']}", headers=account.auth).status_code == 404
    assert http.delete(f"{LINKS}/{data['id']}", headers=account.auth).status_code == 404
    resp = http.post(LINKS, json={"url": "https://evil.example", "slug": slug},
                     headers=live_server.new_account().auth)
    assert resp.status_code == 409


def test_me_reports_account_plan_key_and_usage(
    live_server: ProcessServer, http: httpx.Client, account: ApiAccount
) -> None:
    create(http, account)
    resp = http.get("/api/v1/me", headers=account.auth)
    data = resp.json()["data"]
    assert data["account"] == {"id": account.id, "email": account.email}
    assert data["plan"] == "pro"
    assert data["key"] == {"id": account.key_id, "name": "test", "last4": account.key[-4:]}
    assert data["usage"]["requests_used"] == 1
    assert data["usage"]["requests_limit"] == 10_000
    assert data["usage"]["links_used"] == 1 and data["usage"]["links_limit"] == 200
    assert resp.headers["x-ratelimit-remaining"] == str(10_000 - 1)
    again = http.get("/api/v1/me", headers=account.auth).json()["data"]
    assert again["usage"]["requests_used"] == 1  # /me is never counted
