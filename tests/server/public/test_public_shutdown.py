"""No click is lost on a graceful stop, with one worker and with several; several workers'
caches agree within ``link_cache_ttl``."""

from __future__ import annotations

import signal
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import httpx
import pytest

from kliqs_testing.databases import Database, make_database
from kliqs_testing.servers import ProcessServer
from public_support import counter, create_link, stored_clicks

CLICKS = 300


def _click_many(url: str, code: str, n: int, *, fresh_connections: bool) -> None:
    headers = {"Connection": "close"} if fresh_connections else {}
    with httpx.Client(base_url=url, timeout=30, headers=headers) as http:
        with ThreadPoolExecutor(8) as pool:
            statuses = set(pool.map(lambda _: http.get(f"/{code}").status_code, range(n)))
    assert statuses == {302}


def _stop_gracefully(server: ProcessServer, sig: int = signal.SIGTERM) -> None:
    server.stop(sig)  # uvicorn re-raises the signal after its graceful stop: no exit code 0
    assert "Application shutdown complete" in server.log()


def _stop_after_clicks(server: ProcessServer, sig: int) -> None:
    """N clicks all still buffered (flush interval longer than the test), then ``sig``."""
    try:
        account = server.new_account("pro")
        with server.client() as http:
            link = create_link(http, account)
        _click_many(server.url, link["short_code"], CLICKS, fresh_connections=False)
        assert stored_clicks(server.engine, link["id"]) == 0
    finally:
        _stop_gracefully(server, sig)
    assert stored_clicks(server.engine, link["id"]) == CLICKS
    assert counter(server.engine, link["id"]) == CLICKS
    server.close_engine()


SLOW_FLUSH = {"KLIQS_CLICK_FLUSH_INTERVAL": "600"}


def test_sigterm_right_after_n_clicks_stores_exactly_n(
    database: Database, module_dir: Path
) -> None:
    _stop_after_clicks(ProcessServer(database, module_dir, env=dict(SLOW_FLUSH)).start(),
                       signal.SIGTERM)


def test_sigint_right_after_n_clicks_stores_exactly_n(tmp_path: Path) -> None:
    # Ctrl-C in a terminal; the signal handling is the database's business on neither side,
    # so SQLite alone covers it.
    server = ProcessServer(make_database("sqlite", tmp_path), tmp_path, env=dict(SLOW_FLUSH))
    _stop_after_clicks(server.start(), signal.SIGINT)


@pytest.mark.slow
def test_two_workers_lose_no_click_and_agree_within_the_cache_ttl(
    database: Database, module_dir: Path
) -> None:
    env = {"KLIQS_LINK_CACHE_TTL": "1"}
    server = ProcessServer(database, module_dir, env=env, workers=2).start()
    try:
        account = server.new_account("pro")
        with server.client() as http:
            link = create_link(http, account, url="https://toko.id/lama")
            code = link["short_code"]
            _click_many(server.url, code, CLICKS // 2, fresh_connections=True)
            http.patch(f"/api/v1/links/{link['id']}", json={"url": "https://toko.id/baru"},
                       headers=account.auth).raise_for_status()
        time.sleep(1.2)  # the other worker's entry has aged out by now
        with httpx.Client(base_url=server.url, headers={"Connection": "close"}) as fresh:
            locations = {fresh.get(f"/{code}").headers["location"] for _ in range(20)}
        assert locations == {"https://toko.id/baru"}
    finally:
        _stop_gracefully(server)
    assert stored_clicks(server.engine, link["id"]) == CLICKS // 2 + 20
    assert counter(server.engine, link["id"]) == CLICKS // 2 + 20
    assert server.log().count("Started server process") == 2
    server.close_engine()
