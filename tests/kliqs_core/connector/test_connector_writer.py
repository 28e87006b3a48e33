"""The batch writer: stores from the event loop, many per transaction, failures alone."""

from __future__ import annotations

import asyncio
import threading
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import Connection, event, text
from sqlalchemy.exc import IntegrityError, OperationalError

from kliqs_core.connector.db import Database
from kliqs_core.connector.testing import in_one_batch
from kliqs_core.connector.writer import BatchWriter, writer_for


@pytest.fixture
def database(tmp_path: Path) -> Database:
    database = Database(f"sqlite:///{tmp_path / 'writer.db'}")
    with database.begin() as conn:
        conn.execute(text("CREATE TABLE notes (id INTEGER PRIMARY KEY, body TEXT UNIQUE)"))
    return database


def commits(database: Database) -> list[int]:
    seen: list[int] = []
    event.listen(database.engine, "commit", lambda _conn: seen.append(1))
    return seen


def insert(body: str) -> Any:
    def job(conn: Connection) -> int:
        sql = text("INSERT INTO notes (body) VALUES (:b) RETURNING id")
        return int(conn.execute(sql, {"b": body}).scalar_one())

    return job


def stored(database: Database) -> list[str]:
    with database.begin() as conn:
        return list(conn.execute(text("SELECT body FROM notes ORDER BY id")).scalars())


def batch_of(database: Database, calls: Callable[[BatchWriter], list[Any]], **kw: Any) -> list[Any]:
    """Run the writer calls ``calls(writer)`` makes as one batch (after a holding job)."""
    writer = BatchWriter(database, **kw)

    async def go() -> list[Any]:
        return await in_one_batch(writer, calls(writer))

    return asyncio.run(go())


def inserts(bodies: list[str]) -> Callable[[BatchWriter], list[Any]]:
    return lambda writer: [writer.run(insert(body)) for body in bodies]


def test_jobs_waiting_together_share_one_transaction(database: Database) -> None:
    seen = commits(database)
    results = batch_of(database, inserts([f"n{i}" for i in range(10)]))

    assert len(seen) == 2  # the holding job's batch, then all ten in one
    assert sorted(results) == list(range(1, 11))
    assert stored(database) == [f"n{i}" for i in range(10)]


def test_a_group_runs_once_per_batch_with_its_items_in_order(database: Database) -> None:
    calls: list[list[str]] = []

    def insert_all(conn: Connection, bodies: list[str]) -> list[int]:
        calls.append(list(bodies))
        return [insert(body)(conn) for body in bodies]

    g1, plain, g2 = batch_of(database, lambda writer: [
        writer.run_grouped(insert_all, "g1"), writer.run(insert("plain")),
        writer.run_grouped(insert_all, "g2")])  # fmt: skip

    assert calls == [["g1", "g2"]]  # one call for the batch; plain jobs after the groups
    rows = stored(database)
    assert (rows[g1 - 1], rows[g2 - 1], rows[plain - 1]) == ("g1", "g2", "plain")


def test_a_batch_takes_at_most_max_batch_jobs(database: Database) -> None:
    seen = commits(database)
    batch_of(database, inserts([f"n{i}" for i in range(10)]), max_batch=4)

    assert len(seen) == 1 + 3  # the holding job's, then 10 jobs in batches of 4
    assert len(stored(database)) == 10


def test_a_failing_job_fails_alone_and_the_others_are_stored(database: Database) -> None:
    def broken(_: Connection) -> None:
        raise ValueError("bad row")

    jobs = [insert("a"), broken, insert("dup"), insert("dup"), insert("b")]
    a, bad, dup1, dup2, b = batch_of(database, lambda writer: [writer.run(j) for j in jobs])

    assert isinstance(bad, ValueError)
    # The unique key fails the second "dup" (after a retry); the rest commit, alone.
    assert isinstance(a, int) and isinstance(dup1, int) and isinstance(b, int)
    assert isinstance(dup2, IntegrityError)
    assert stored(database) == ["a", "dup", "b"]


def test_a_database_error_fails_the_batch_at_once_not_job_by_job(database: Database) -> None:
    # Unreachable or locked: every job would wait for the same error again, alone.
    runs: list[str] = []

    def locked(conn: Connection) -> None:
        runs.append("locked")
        raise OperationalError("INSERT ...", {}, Exception("database is locked"))

    jobs = (insert("a"), locked, insert("b"))
    results = batch_of(database, lambda writer: [writer.run(j) for j in jobs])

    assert runs == ["locked"]
    assert all(isinstance(result, OperationalError) for result in results)
    assert stored(database) == []


def test_the_thread_ends_when_idle_and_starts_again(database: Database) -> None:
    writer = BatchWriter(database, idle_seconds=0.05)

    assert asyncio.run(writer.run(insert("one"))) == 1 and writer.running
    deadline = time.monotonic() + 5
    while writer.running and time.monotonic() < deadline:
        time.sleep(0.01)
    assert not writer.running
    assert asyncio.run(writer.run(insert("two"))) == 2
    assert stored(database) == ["one", "two"]


def test_answers_reach_the_loop_that_asked(database: Database) -> None:
    # Two event loops in two threads (as two test clients would): each gets its own results.
    writer = BatchWriter(database)
    results: dict[str, Any] = {}

    def client(name: str) -> None:
        async def go() -> list[int]:
            return list(await asyncio.gather(*(writer.run(insert(f"{name}{i}"))
                                               for i in range(20))))  # fmt: skip

        results[name] = asyncio.run(go())

    threads = [threading.Thread(target=client, args=(name,)) for name in ("x", "y")]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(10)

    rows = stored(database)
    for name in ("x", "y"):
        assert [rows[pk - 1] for pk in results[name]] == [f"{name}{i}" for i in range(20)]


def test_one_writer_per_database(database: Database, tmp_path: Path) -> None:
    other = Database(f"sqlite:///{tmp_path / 'other.db'}")
    assert writer_for(database) is writer_for(database)
    assert writer_for(database) is not writer_for(other)


def test_max_batch_must_be_positive(database: Database) -> None:
    with pytest.raises(ValueError, match="max_batch"):
        BatchWriter(database, max_batch=0)
