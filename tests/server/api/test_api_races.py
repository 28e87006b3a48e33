"""Exact plan limits under concurrency, through the real server over HTTP, on both databases."""

from __future__ import annotations

import threading
from collections import Counter
from collections.abc import Callable, Iterator
from pathlib import Path

import httpx
import pytest

from kliqs_testing.databases import Database
from kliqs_testing.servers import ApiAccount, ProcessServer

CONCURRENCY = 64


@pytest.fixture(scope="module", params=[1, 3], ids=["1-worker", "3-workers"])
def race_server(
    database: Database, module_dir: Path, request: pytest.FixtureRequest
) -> Iterator[ProcessServer]:
    """A server whose per-key burst limit does not interfere with the race.

    One worker runs SQLite's transactions on its event loop, one at a time; three worker
    processes really race each other (and PostgreSQL sessions race in either case), so a
    read-then-write quota check would be caught there.
    """
    workers = request.param
    server = ProcessServer(database, module_dir / f"race-{workers}",
                           env={"KLIQS_BURST_LIMIT": "10000"}, workers=workers)
    server.data_dir.mkdir(exist_ok=True)
    server.start()
    yield server
    server.stop()


def race(
    server: ProcessServer, send: Callable[[httpx.Client], httpx.Response]
) -> Counter[int | str]:
    """Fire ``CONCURRENCY`` requests at once, each on its own connection; count the statuses
    of successes and the error codes of failures."""
    barrier = threading.Barrier(CONCURRENCY)
    statuses: list[int | str] = []
    errors: list[Exception] = []
    lock = threading.Lock()

    def one() -> None:
        try:
            with server.client() as client:
                barrier.wait()
                resp = send(client)
                status = resp.status_code if resp.is_success else resp.json()["error"]
        except Exception as exc:  # recorded, so a lost request fails the count loudly
            status = -1
            errors.append(exc)
        with lock:
            statuses.append(status)

    threads = [threading.Thread(target=one) for _ in range(CONCURRENCY)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert not errors, errors
    return Counter(statuses)


def usage(server: ProcessServer, account: ApiAccount) -> dict[str, int]:
    with server.client() as client:
        return client.get("/api/v1/me", headers=account.auth).json()["data"]["usage"]


def test_64_concurrent_creates_on_free_make_exactly_5_links(race_server: ProcessServer) -> None:
    account = race_server.new_account("free")
    counts = race(
        race_server,
        lambda c: c.post("/api/v1/links", json={"url": "https://toko.id/p"}, headers=account.auth),
    )
    assert counts == Counter({201: 5, "SHORTLINK_LIMIT_REACHED": CONCURRENCY - 5})
    used = usage(race_server, account)
    assert used["links_used"] == 5
    assert used["requests_used"] == 5  # the 403s were not counted
    with race_server.client() as client:
        items = client.get("/api/v1/links?limit=100", headers=account.auth).json()["data"]["items"]
    assert len(items) == 5


def test_with_25_used_64_concurrent_requests_give_exactly_5_more(race_server: ProcessServer) -> None:
    account = race_server.new_account("free")
    with race_server.client() as client:
        for _ in range(25):
            assert client.get("/api/v1/links", headers=account.auth).status_code == 200
    counts = race(race_server, lambda c: c.get("/api/v1/links", headers=account.auth))
    assert counts == Counter({200: 5, "API_LIMIT_REACHED": CONCURRENCY - 5})
    assert usage(race_server, account)["requests_used"] == 30


def test_concurrent_creates_with_one_idempotency_key_make_one_link(
    race_server: ProcessServer,
) -> None:
    account = race_server.new_account("pro")
    headers = {**account.auth, "Idempotency-Key": "same-order-42"}
    bodies: list[str] = []

    def send(client: httpx.Client) -> httpx.Response:
        resp = client.post("/api/v1/links", json={"url": "https://toko.id/x"}, headers=headers)
        bodies.append(resp.json()["data"]["id"] if resp.status_code == 201 else resp.text)
        return resp

    counts = race(race_server, send)
    assert counts == Counter({201: CONCURRENCY})
    assert len(set(bodies)) == 1
    assert usage(race_server, account)["links_used"] == 1
    assert usage(race_server, account)["requests_used"] == 1


def test_concurrent_creates_of_one_slug_give_one_winner(race_server: ProcessServer) -> None:
    accounts = [race_server.new_account("starter") for _ in range(4)]
    index = iter(range(CONCURRENCY))
    lock = threading.Lock()

    def send(client: httpx.Client) -> httpx.Response:
        with lock:
            account = accounts[next(index) % len(accounts)]
        # One slug per server: both servers of a module share its database.
        slug = f"flash-sale-{race_server.workers}"
        return client.post("/api/v1/links", json={"url": "https://toko.id", "slug": slug},
                           headers=account.auth)

    counts = race(race_server, send)
    assert counts == Counter({201: 1, "SLUG_ALREADY_EXISTS": CONCURRENCY - 1})
