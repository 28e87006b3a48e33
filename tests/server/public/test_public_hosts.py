"""Routing by ``Host`` when the split deployment's hosts are configured."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from kliqs_testing.databases import make_database
from kliqs_testing.servers import ThreadServer
from public_support import create_link

HOSTS = {
    "KLIQS_API_HOST": "api.kliqs.test",
    "KLIQS_PUBLIC_HOST": "kliqs.test",
    "KLIQS_DASH_HOST": "dash.kliqs.test",
}


@pytest.fixture
def split_server(tmp_path: Path) -> Iterator[ThreadServer]:
    server = ThreadServer(make_database("sqlite", tmp_path), tmp_path, env=dict(HOSTS)).start()
    yield server
    server.stop()


def _on(host: str) -> dict[str, str]:
    return {"Host": host}


def test_each_area_answers_only_on_its_host(split_server: ThreadServer) -> None:
    account = split_server.new_account("pro")
    with split_server.client() as http:
        api = {**account.auth, **_on("api.kliqs.test")}
        with split_server.client(headers=_on("api.kliqs.test")) as api_http:
            link = create_link(api_http, account)
        code = link["short_code"]

        public = http.get(f"/{code}", headers=_on("kliqs.test:8443"))  # any port of the host
        assert public.status_code == 302
        assert public.headers["location"] == link["destination_url"]
        assert http.get(f"/{code}/qr.png", headers=_on("kliqs.test")).status_code == 200

        on_api = http.get(f"/{code}", headers=_on("api.kliqs.test"))
        assert on_api.status_code == 404 and on_api.json()["error"] == "NOT_FOUND"
        assert http.get(f"/{code}", headers=_on("dash.kliqs.test")).status_code == 404

        refused = http.get("/api/v1/me", headers={**account.auth, **_on("kliqs.test")})
        assert refused.status_code == 404 and refused.json()["error"] == "NOT_FOUND"
        assert "x-request-id" in refused.headers
        assert http.get("/api/v1/me", headers=api).status_code == 200
        assert http.get("/dash/login", headers=_on("dash.kliqs.test")).status_code == 200
        for host in ("kliqs.test", "api.kliqs.test"):
            refused_page = http.get("/dash/login", headers=_on(host))
            assert refused_page.status_code == 404, host
            assert "Link tidak ditemukan" in refused_page.text
        for host in ("kliqs.test", "api.kliqs.test", "dash.kliqs.test", "other.test"):
            assert http.get("/healthz", headers=_on(host)).status_code == 200, host


def test_without_host_settings_everything_is_one_origin(thread_server: ThreadServer) -> None:
    account = thread_server.new_account("pro")
    with thread_server.client(headers={"Host": "anything.test"}) as http:
        link = create_link(http, account)
        assert http.get(f"/{link['short_code']}").status_code == 302
        assert http.get("/api/v1/me", headers=account.auth).status_code == 200
