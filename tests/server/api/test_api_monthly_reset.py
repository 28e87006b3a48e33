"""Usage resets at 00:00 UTC on the first of the month (the clock is moved)."""

from __future__ import annotations

import time
from datetime import UTC, datetime

from kliqs_testing.servers import ThreadServer
from server import clock


def _set_now(target: datetime) -> None:
    clock.set_offset((target - datetime.now(UTC)).total_seconds())


def test_usage_resets_at_midnight_utc_on_the_first(thread_server: ThreadServer) -> None:
    account = thread_server.new_account("free")
    _set_now(datetime(2027, 1, 31, 23, 59, 50, tzinfo=UTC))
    with thread_server.client() as http:
        for _ in range(30):
            time.sleep(0.055)  # under the burst limit
            assert http.get("/api/v1/links", headers=account.auth).status_code == 200
        limited = http.get("/api/v1/links", headers=account.auth)
        assert limited.status_code == 429 and limited.json()["error"] == "API_LIMIT_REACHED"
        reset = datetime(2027, 2, 1, tzinfo=UTC)
        assert int(limited.headers["x-ratelimit-reset"]) == int(reset.timestamp())
        assert 0 < int(limited.headers["retry-after"]) <= 10

        _set_now(datetime(2027, 1, 31, 23, 59, 59, 500000, tzinfo=UTC))
        assert http.get("/api/v1/links", headers=account.auth).status_code == 429

        _set_now(datetime(2027, 2, 1, 0, 0, 0, 100000, tzinfo=UTC))
        fresh = http.get("/api/v1/links", headers=account.auth)
        assert fresh.status_code == 200
        assert fresh.headers["x-ratelimit-remaining"] == "29"
        me = http.get("/api/v1/me", headers=account.auth).json()["data"]["usage"]
        assert me["requests_used"] == 1
        assert me["resets_at"] == "2027-03-01T00:00:00Z"
