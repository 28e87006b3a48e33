"""Every row of the contract's error table, over real HTTP, on SQLite and PostgreSQL."""

from __future__ import annotations

import json
import time

import httpx
import pytest

from kliqs_testing.rawhttp import raw_request
from kliqs_testing.servers import ApiAccount, ProcessServer

LINKS = "/api/v1/links"


def assert_error(resp: httpx.Response, status: int, code: str) -> dict[str, object]:
    """The response is the contract's error envelope with ``status`` and ``code``."""
    assert resp.status_code == status, resp.text
    body = resp.json()
    assert body["success"] is False
    assert body["error"] == code
    assert isinstance(body["message"], str) and body["message"]
    assert body["request_id"] == resp.headers["x-request-id"]
    return body


@pytest.fixture(scope="module")
def http(live_server: ProcessServer) -> httpx.Client:
    with live_server.client() as client:
        yield client


@pytest.fixture
def account(live_server: ProcessServer) -> ApiAccount:
    return live_server.new_account("starter")


def post(http: httpx.Client, account: ApiAccount, body: object, **headers: str) -> httpx.Response:
    raw = body if isinstance(body, (bytes, str)) else json.dumps(body)
    return http.post(LINKS, content=raw, headers={**account.auth, **headers})


class TestAuthentication:
    def test_missing_header_is_unauthorized(self, http: httpx.Client) -> None:
        assert_error(http.post(LINKS, json={"url": "https://a.id"}), 401, "UNAUTHORIZED")

    @pytest.mark.parametrize("value", ["Basic dXNlcjpwYXNz", "kliqs_sk_live_x", "Token abc", ""])
    def test_other_schemes_are_unauthorized(self, http: httpx.Client, value: str) -> None:
        resp = http.post(LINKS, json={"url": "https://a.id"}, headers={"Authorization": value})
        assert_error(resp, 401, "UNAUTHORIZED")

    @pytest.mark.parametrize(
        "value",
        ["Bearer", "Bearer abc", "Bearer kliqs_sk_live_" + "A" * 32,
         "Bearer kliqs_sk_live_" + "A" * 31 + "!", "Bearer kliqs_sk_test_" + "A" * 32],
    )
    def test_malformed_or_unknown_keys_are_invalid(self, http: httpx.Client, value: str) -> None:
        resp = http.post(LINKS, json={"url": "https://a.id"}, headers={"Authorization": value})
        assert_error(resp, 401, "INVALID_API_KEY")

    def test_scheme_is_case_insensitive_and_spaces_tolerated(
        self, http: httpx.Client, account: ApiAccount
    ) -> None:
        for value in (f"bearer {account.key}", f"BEARER   {account.key}"):
            resp = http.get("/api/v1/me", headers={"Authorization": value})
            assert resp.status_code == 200, resp.text
        head = f"GET /api/v1/me HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer {account.key}   "
        assert raw_request(http.base_url.__str__(), head.encode()).status == 200

    def test_key_with_stray_newline_or_inner_space_is_invalid(
        self, http: httpx.Client, account: ApiAccount
    ) -> None:
        # A newline cannot travel inside an HTTP header; an escaped one or a space can.
        for token in (account.key + "\\n", account.key[:10] + " " + account.key[10:]):
            resp = http.get("/api/v1/me", headers={"Authorization": f"Bearer {token}"})
            assert_error(resp, 401, "INVALID_API_KEY")

    @pytest.mark.parametrize(
        ("header", "code"),
        [
            (b"Authorization:", "UNAUTHORIZED"),
            (b"Authorization:    ", "UNAUTHORIZED"),
            (b"Authorization: Bearer    ", "INVALID_API_KEY"),
            (b"Authorization: Bearer \t", "INVALID_API_KEY"),
        ],
    )
    def test_empty_and_blank_values_sent_raw(
        self, live_server: ProcessServer, header: bytes, code: str
    ) -> None:
        resp = raw_request(live_server.url, b"GET /api/v1/me HTTP/1.1\r\nHost: x\r\n" + header)
        assert resp.status == 401
        assert resp.json()["error"] == code

    def test_key_followed_by_a_bare_newline_is_never_accepted(
        self, live_server: ProcessServer, account: ApiAccount
    ) -> None:
        head = b"GET /api/v1/me HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer " + account.key.encode()
        resp = raw_request(live_server.url, head + b"\n")
        # Not valid HTTP: refused before the app, still in the envelope.
        assert resp.status == 400, resp.body
        body = resp.json()
        assert (body["success"], body["error"]) == (False, "VALIDATION_ERROR")
        assert body["request_id"] == resp.headers["x-request-id"]

    @pytest.mark.parametrize("head", [
        b"GET /api/v1/me HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer k\r\n  folded",
        b"GET /api v1 me HTTP/1.1\r\nHost: x",
        b"GET /api/v1/me HTTP/1.1\r\nHo st: x",
    ])
    def test_malformed_http_is_400_in_the_envelope(
        self, live_server: ProcessServer, head: bytes
    ) -> None:
        resp = raw_request(live_server.url, head)
        assert resp.status == 400, resp.body
        assert resp.headers["content-type"] == "application/json"
        assert resp.json()["error"] == "VALIDATION_ERROR"

    def test_revoked_key(self, live_server: ProcessServer, http: httpx.Client) -> None:
        from server.services.accounts import revoke_key

        account = live_server.new_account()
        with live_server.engine.begin() as conn:
            assert revoke_key(conn, account.key_id)
        resp = post(http, account, {"url": "https://a.id"})
        assert_error(resp, 401, "REVOKED_API_KEY")

    def test_401s_carry_no_rate_limit_headers(self, http: httpx.Client) -> None:
        resp = http.get("/api/v1/me")
        assert "x-ratelimit-limit" not in resp.headers


class TestValidation:
    @pytest.mark.parametrize(
        "raw",
        [b"{", b"[1, 2]", b'"url"', b"null", b"42", b"", b"\xff\xfe", b'{"url": "https://a.id",}'],
    )
    def test_body_not_a_json_object(self, http: httpx.Client, account: ApiAccount, raw: bytes) -> None:
        assert_error(post(http, account, raw), 400, "VALIDATION_ERROR")

    @pytest.mark.parametrize(
        "body",
        [
            {},
            {"url": 42},
            {"url": ["https://a.id"]},
            {"url": "https://a.id", "slug": 5},
            {"url": "https://a.id", "title": {"x": 1}},
            {"url": "https://a.id", "title": "t" * 201},
            {"url": "https://a.id", "description": "d" * 1001},
            {"url": "https://a.id", "password": "abc"},
            {"url": "https://a.id", "password": "p" * 129},
            {"url": "https://a.id", "expires_at": 1893456000},
            {"url": "https://a.id", "colour": "red"},
            {"url": "https://a.id", "title": "nul\x00byte"},
            {"url": "https://a.id", "description": "\x00"},
        ],
    )
    def test_wrong_types_and_lengths(
        self, http: httpx.Client, account: ApiAccount, body: dict[str, object]
    ) -> None:
        assert_error(post(http, account, body), 400, "VALIDATION_ERROR")

    @pytest.mark.parametrize(
        "url",
        [
            "javascript:alert(1)",
            "data:text/html,<script>alert(1)</script>",
            "ftp://files.example.com/a",
            "https://",
            "https://user:pass@example.com/",
            "https://exa mple.com/",
            "https://example.com/a b",
            "https://example.com/\x00",
            "https://example.com:99999/",
            "https://-bad-.com/",
            "example.com",
            "https://example.com/" + "a" * 2048,
            "",
        ],
    )
    def test_invalid_urls(self, http: httpx.Client, account: ApiAccount, url: str) -> None:
        assert_error(post(http, account, {"url": url}), 400, "INVALID_URL")

    def test_link_back_to_our_own_public_host_is_refused(
        self, live_server: ProcessServer, http: httpx.Client, account: ApiAccount
    ) -> None:
        resp = post(http, account, {"url": f"{live_server.url}/abc"})
        assert_error(resp, 400, "INVALID_URL")

    def test_unicode_and_idn_hosts_are_accepted_and_normalised(
        self, http: httpx.Client, account: ApiAccount
    ) -> None:
        resp = post(http, account, {"url": "https://bücher.example/produk/sepatu-merah?ukuran=42",
                                    "title": "Sepatu 👟 merah — ukuran besar"})
        assert resp.status_code == 201, resp.text
        data = resp.json()["data"]
        assert data["destination_url"] == "https://xn--bcher-kva.example/produk/sepatu-merah?ukuran=42"
        assert data["title"] == "Sepatu 👟 merah — ukuran besar"
        resp = post(http, account, {"url": "https://example.com/kaos/é"})
        assert resp.json()["data"]["destination_url"] == "https://example.com/kaos/%C3%A9"

    @pytest.mark.parametrize(
        "slug", ["ab", "a" * 65, "vps.murah", "vps/murah", "sepatu👟", "-start", "end-", "_x_",
                 "spasi di", "ümlaut"],
    )
    def test_invalid_slugs(self, http: httpx.Client, account: ApiAccount, slug: str) -> None:
        assert_error(post(http, account, {"url": "https://a.id", "slug": slug}), 400, "INVALID_SLUG")

    @pytest.mark.parametrize("slug", ["admin", "API", "Dash", "webhooks", "well-known", "healthz"])
    def test_reserved_slugs(self, http: httpx.Client, account: ApiAccount, slug: str) -> None:
        resp = post(http, account, {"url": "https://a.id", "slug": slug})
        assert_error(resp, 400, "RESERVED_SLUG")

    @pytest.mark.parametrize("value", ["2000-01-01T00:00:00Z", "kemarin", "2026-13-45", "", "soon"])
    def test_invalid_expires_at(self, http: httpx.Client, account: ApiAccount, value: str) -> None:
        resp = post(http, account, {"url": "https://a.id", "expires_at": value})
        assert_error(resp, 400, "INVALID_EXPIRES_AT")

    def test_body_over_64_kb_is_413_in_the_envelope(
        self, http: httpx.Client, account: ApiAccount
    ) -> None:
        big = json.dumps({"url": "https://a.id", "description": "x" * 70_000})
        assert_error(post(http, account, big), 413, "PAYLOAD_TOO_LARGE")

    def test_chunked_body_over_64_kb_is_413(self, http: httpx.Client, account: ApiAccount) -> None:
        def chunks():
            yield b'{"url": "https://a.id", "description": "'
            for _ in range(80):
                yield b"x" * 1024
            yield b'"}'

        resp = http.post(LINKS, content=chunks(), headers=account.auth)
        assert_error(resp, 413, "PAYLOAD_TOO_LARGE")

    def test_fields_are_checked_in_the_contracts_order(
        self, http: httpx.Client, account: ApiAccount
    ) -> None:
        body = {"url": "javascript:x", "slug": "a/b", "expires_at": "garbage"}
        assert_error(post(http, account, body), 400, "INVALID_URL")
        body = {"url": "https://a.id", "slug": "admin", "expires_at": "garbage"}
        assert_error(post(http, account, body), 400, "RESERVED_SLUG")
        body = {"url": "https://a.id", "slug": "ok-slug-x", "expires_at": "garbage", "title": 1}
        assert_error(post(http, account, body), 400, "VALIDATION_ERROR")


class TestLimitsAndConflicts:
    def test_slug_already_exists_across_accounts_and_case(
        self, live_server: ProcessServer, http: httpx.Client, account: ApiAccount
    ) -> None:
        slug = f"Promo-{account.id[:8]}"
        assert post(http, account, {"url": "https://a.id", "slug": slug}).status_code == 201
        other = live_server.new_account()
        resp = post(http, other, {"url": "https://b.id", "slug": slug.upper()})
        assert_error(resp, 409, "SLUG_ALREADY_EXISTS")

    def test_shortlink_limit_comes_before_slug_conflict(
        self, live_server: ProcessServer, http: httpx.Client
    ) -> None:
        free = live_server.new_account("free")
        taken = f"taken-{free.id[:8]}"
        assert post(http, free, {"url": "https://a.id", "slug": taken}).status_code == 201
        for _ in range(4):
            assert post(http, free, {"url": "https://a.id"}).status_code == 201
        assert_error(post(http, free, {"url": "https://a.id"}), 403, "SHORTLINK_LIMIT_REACHED")
        resp = post(http, free, {"url": "https://a.id", "slug": taken})
        assert_error(resp, 403, "SHORTLINK_LIMIT_REACHED")
        # validation still answers before the plan limit
        assert_error(post(http, free, {"url": "https://a.id", "slug": "a.b"}), 400, "INVALID_SLUG")

    def test_deleting_a_link_frees_a_plan_slot(
        self, live_server: ProcessServer, http: httpx.Client
    ) -> None:
        free = live_server.new_account("free")
        ids = [post(http, free, {"url": "https://a.id"}).json()["data"]["id"] for _ in range(5)]
        assert post(http, free, {"url": "https://a.id"}).status_code == 403
        assert http.delete(f"{LINKS}/{ids[0]}", headers=free.auth).status_code == 200
        assert post(http, free, {"url": "https://a.id"}).status_code == 201

    def test_api_limit_reached_with_retry_after_and_headers(
        self, live_server: ProcessServer, http: httpx.Client
    ) -> None:
        free = live_server.new_account("free")
        for i in range(30):
            time.sleep(0.06)  # stay under the 20/s burst limit
            resp = http.get(LINKS, headers=free.auth)
            assert resp.status_code == 200, resp.text
            assert resp.headers["x-ratelimit-remaining"] == str(29 - i)
        resp = post(http, free, {"url": "https://a.id"})
        assert_error(resp, 429, "API_LIMIT_REACHED")
        assert int(resp.headers["retry-after"]) > 0
        assert resp.headers["x-ratelimit-remaining"] == "0"
        reset = int(resp.headers["x-ratelimit-reset"])
        me = http.get("/api/v1/me", headers=free.auth).json()["data"]
        assert me["usage"]["requests_used"] == 30
        from datetime import datetime

        assert datetime.fromisoformat(me["usage"]["resets_at"]).timestamp() == reset
        # the limit answers before validation
        assert_error(post(http, free, b"not json"), 429, "API_LIMIT_REACHED")

    def test_rate_limited_burst_per_key(self, live_server: ProcessServer, http: httpx.Client) -> None:
        account = live_server.new_account("business")
        statuses = [http.get("/api/v1/me", headers=account.auth) for _ in range(60)]
        limited = [r for r in statuses if r.status_code == 429]
        assert limited, "60 requests in a burst must trip the 20/s limit"
        assert_error(limited[0], 429, "RATE_LIMITED")
        assert limited[0].headers["retry-after"] == "1"


class TestCounting:
    def test_bad_keys_and_failures_are_never_counted(
        self, live_server: ProcessServer, http: httpx.Client, account: ApiAccount
    ) -> None:
        def used() -> int:
            return http.get("/api/v1/me", headers=account.auth).json()["data"]["usage"]["requests_used"]

        before = used()
        http.post(LINKS, json={"url": "https://a.id"}, headers={"Authorization": "Bearer nope"})
        post(http, account, {"url": "javascript:1"})
        post(http, account, b"{")
        http.get(f"{LINKS}/00000000-0000-0000-0000-000000000000", headers=account.auth)
        assert used() == before
        assert post(http, account, {"url": "https://a.id"}).status_code == 201
        http.get(LINKS, headers=account.auth)
        assert used() == before + 2


class TestIdempotency:
    def test_replay_returns_the_first_answer_and_creates_nothing(
        self, http: httpx.Client, account: ApiAccount
    ) -> None:
        body = {"url": "https://a.id/sepatu", "title": "Sepatu"}
        first = post(http, account, body, **{"Idempotency-Key": "order-1"})
        again = post(http, account, {"title": "Sepatu", "url": "https://a.id/sepatu"},
                     **{"Idempotency-Key": "order-1"})
        assert first.status_code == again.status_code == 201
        assert again.headers["idempotent-replayed"] == "true"
        assert "idempotent-replayed" not in first.headers
        assert again.json() == first.json()
        listed = http.get(LINKS, headers=account.auth).json()["data"]["items"]
        assert [i["id"] for i in listed].count(first.json()["data"]["id"]) == 1
        assert len(listed) == 1

    def test_same_key_other_body_is_422(self, http: httpx.Client, account: ApiAccount) -> None:
        assert post(http, account, {"url": "https://a.id"}, **{"Idempotency-Key": "k2"}).status_code == 201
        resp = post(http, account, {"url": "https://b.id"}, **{"Idempotency-Key": "k2"})
        assert_error(resp, 422, "IDEMPOTENCY_KEY_REUSED")

    def test_keys_are_per_account(self, live_server: ProcessServer, http: httpx.Client) -> None:
        a, b = live_server.new_account(), live_server.new_account()
        ra = post(http, a, {"url": "https://a.id"}, **{"Idempotency-Key": "shared"})
        rb = post(http, b, {"url": "https://a.id"}, **{"Idempotency-Key": "shared"})
        assert ra.json()["data"]["id"] != rb.json()["data"]["id"]


class TestRoutes:
    def test_unknown_route_and_wrong_method_use_the_envelope(
        self, http: httpx.Client, account: ApiAccount
    ) -> None:
        assert_error(http.get("/api/v1/nothing", headers=account.auth), 404, "NOT_FOUND")
        assert_error(http.put(LINKS, headers=account.auth), 405, "METHOD_NOT_ALLOWED")

    def test_english_messages_on_request(self, http: httpx.Client) -> None:
        indonesian = http.post(LINKS, json={})
        english = http.post(LINKS, json={}, headers={"Accept-Language": "en-US,en;q=0.9,id;q=0.5"})
        assert indonesian.json()["message"] != english.json()["message"]
        assert "Authorization" in english.json()["message"]
        assert "tidak ada" in indonesian.json()["message"]
