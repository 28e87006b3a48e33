"""Anything unexpected answers 500 INTERNAL_ERROR with a request id, logged, no SQL or trace."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from sqlalchemy import text

from kliqs_testing.databases import Database, make_database
from kliqs_testing.servers import ProcessServer


@pytest.fixture
def broken_server(backend: str, tmp_path: Path) -> Iterator[ProcessServer]:
    db: Database = make_database(backend, tmp_path)
    server = ProcessServer(db, tmp_path).start()
    yield server
    server.stop()
    db.drop()


def test_a_database_fault_answers_internal_error_without_leaking(
    broken_server: ProcessServer,
) -> None:
    account = broken_server.new_account("pro")
    with broken_server.engine.begin() as conn:  # a fault the code cannot expect
        conn.execute(text("DROP TABLE idempotency_keys"))
    with broken_server.client() as http:
        resp = http.post(
            "/api/v1/links",
            json={"url": "https://a.id"},
            headers={**account.auth, "Idempotency-Key": "k1"},
        )
        assert resp.status_code == 500
        body = resp.json()
        assert body["success"] is False and body["error"] == "INTERNAL_ERROR"
        assert body["request_id"] == resp.headers["x-request-id"]
        for leak in ("idempotency_keys", "SELECT", "Traceback", "sqlalchemy", account.key):
            assert leak.lower() not in resp.text.lower()
        # the failed request was not counted, and the server still serves
        me = http.get("/api/v1/me", headers=account.auth).json()["data"]["usage"]
        assert me["requests_used"] == 0 and me["links_used"] == 0
    broken_server.stop()
    assert body["request_id"] in broken_server.log()  # logged with the request id
