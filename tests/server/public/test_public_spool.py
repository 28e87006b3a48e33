"""The click spool and the click ingester: every batch written is stored exactly once, on
SQLite and PostgreSQL, whatever was stored before, unreadable or failing."""

from __future__ import annotations

import threading
import time
import uuid
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import Engine, create_engine, insert, select
from sqlalchemy.exc import OperationalError

from kliqs_testing.databases import Database
from kliqs_testing.servers import free_port
from public_support import DESKTOP, IPHONE, counter, stored_clicks
from server.config import Settings
from server.db.engine import make_engine
from server.db.migrate import upgrade
from server.db.models import Account, Click, ClickBatch, Link
from server.public import clickstore, ingest
from server.public.ingest import Ingester
from server.public.spool import SUFFIX, Spool


@pytest.fixture(scope="module")
def engine(database: Database, module_dir: Path) -> Iterator[Engine]:
    """The module's database, migrated."""
    engine = make_engine(Settings(data_dir=module_dir, database_url=database.url))
    upgrade(engine)
    yield engine
    engine.dispose()


@pytest.fixture
def links(engine: Engine) -> list[str]:
    """Three fresh links of a fresh account (their ids)."""
    account_id, now = str(uuid.uuid4()), datetime.now(UTC)
    ids = [str(uuid.uuid4()) for _ in range(3)]
    with engine.begin() as conn:
        conn.execute(insert(Account).values(id=account_id, email=f"{account_id}@toko.id",
                                            plan="pro", links_count=3, created_at=now))
        for link_id in ids:
            conn.execute(insert(Link).values(id=link_id, account_id=account_id,
                                             code=f"s-{uuid.uuid4().hex[:10]}",
                                             destination_url="https://toko.id/a", clicks=0,
                                             created_at=now, updated_at=now))
    return ids


@pytest.fixture
def spool(tmp_path: Path) -> Spool:
    return Spool(tmp_path / "click-spool")


def visits(link_id: str, n: int, agent: str = IPHONE) -> list[list[Any]]:
    """``n`` visits as the workers spool them."""
    return [[link_id, time.time(), agent, "https://www.instagram.com/p/x", "id",
             f"{i:032x}"] for i in range(n)]


def stored(engine: Engine, link_id: str) -> tuple[int, int]:
    """(click rows, ``links.clicks``) of ``link_id``."""
    return stored_clicks(engine, link_id), counter(engine, link_id)


def recorded(engine: Engine, names: list[str]) -> set[str]:
    """Which of ``names`` are in ``click_batches``."""
    with engine.connect() as conn:
        return set(conn.execute(select(ClickBatch.name).where(ClickBatch.name.in_(names)))
                   .scalars())


class StoreCalls:
    """Records the ingester's calls of ``store_visits`` (and makes them)."""

    def __init__(self, monkeypatch: pytest.MonkeyPatch) -> None:
        self.calls: list[tuple[list[str], int]] = []
        real = ingest.store_visits

        def spy(engine: Engine, batch: list[Any], batches: list[str] | None = None) -> None:
            self.calls.append((list(batches or []), len(batch)))
            real(engine, batch, batches=batches)

        monkeypatch.setattr(ingest, "store_visits", spy)


# -- the spool on its own ---------------------------------------------------------------------


def test_spool_files_are_whole_batches_listed_oldest_first(spool: Spool) -> None:
    first = spool.write([["id-1", 1.5, "ua", None, None, "h" * 32]])
    second = spool.write([])
    third = spool.write([["id-2", 2.5, "ua", "https://t.co", "ID", "h" * 32]] * 2)
    (spool.directory / f".{third}.tmp").write_text("[half a")  # a batch being written
    (spool.directory / "notes.txt").write_text("not a batch")
    assert spool.names() == [first, second, third]
    assert all(name.endswith(SUFFIX) for name in spool.names())
    assert spool.read(first) == [["id-1", 1.5, "ua", None, None, "h" * 32]]
    assert spool.read(second) == []
    assert len(spool.read(third) or []) == 2
    spool.remove(first)
    spool.remove(first)  # gone already: fine
    assert spool.read(first) is None and spool.names() == [second, third]
    spool.quarantine(third)
    assert spool.names() == [second] and (spool.directory / f"{third}.bad").exists()


def test_two_spools_on_one_directory_never_share_a_name(tmp_path: Path) -> None:
    one, two = Spool(tmp_path / "s"), Spool(tmp_path / "s")
    names = {spool.write([]) for _ in range(50) for spool in (one, two)}
    assert len(names) == 100 and len(one.names()) == 100


# -- the ingester -----------------------------------------------------------------------------


def test_a_spooled_batch_is_stored_once_with_its_description(
    engine: Engine, links: list[str], spool: Spool
) -> None:
    link_id = links[0]
    name = spool.write(visits(link_id, 3) + visits(link_id, 1, DESKTOP))
    ingester = Ingester(spool, engine, poll=0.05)
    assert ingester.drain()
    assert stored(engine, link_id) == (4, 4)
    assert spool.names() == [] and recorded(engine, [name]) == {name}
    assert ingester.stored == 4
    with engine.connect() as conn:
        rows = conn.execute(select(Click.referrer_host, Click.country, Click.device,
                                   Click.is_bot, Click.visitor_hash)
                            .where(Click.link_id == link_id).order_by(Click.device)).all()
    assert rows[0] == ("www.instagram.com", "ID", "desktop", False, "0" * 32)
    assert {row.device for row in rows[1:]} == {"mobile"}
    assert ingester.drain()  # nothing waiting: nothing more
    assert stored(engine, link_id) == (4, 4) and ingester.stored == 4


def test_a_file_found_again_after_its_commit_is_not_counted_twice(
    engine: Engine, links: list[str], spool: Spool
) -> None:
    # A crash between the commit and the file's removal leaves the stored file behind.
    link_id = links[0]
    name = spool.write(visits(link_id, 5))
    content = (spool.directory / name).read_bytes()
    ingester = Ingester(spool, engine, poll=0.05)
    assert ingester.drain() and stored(engine, link_id) == (5, 5)
    (spool.directory / name).write_bytes(content)  # as if the removal never happened
    restarted = Ingester(spool, engine, poll=0.05)
    assert restarted.drain()
    assert stored(engine, link_id) == (5, 5)
    assert spool.names() == [] and restarted.stored == 0


def test_files_waiting_together_are_stored_in_one_transaction(
    engine: Engine, links: list[str], spool: Spool, monkeypatch: pytest.MonkeyPatch
) -> None:
    calls = StoreCalls(monkeypatch).calls
    names = [spool.write(visits(link_id, n)) for link_id, n in zip(links, (1, 2, 4))]
    ingester = Ingester(spool, engine, poll=0.05)
    assert ingester.drain()
    assert calls == [(names, 7)]
    assert [stored(engine, link_id) for link_id in links] == [(1, 1), (2, 2), (4, 4)]
    assert spool.names() == [] and recorded(engine, names) == set(names)


def test_a_group_holding_a_file_stored_before_stores_the_others_once(
    engine: Engine, links: list[str], spool: Spool
) -> None:
    first, second, third = links
    old = spool.write(visits(first, 1))
    content = (spool.directory / old).read_bytes()
    assert Ingester(spool, engine, poll=0.05).drain()
    newer = [spool.write(visits(second, 2)), spool.write(visits(third, 4))]
    (spool.directory / old).write_bytes(content)  # the stored file is back, oldest of three
    ingester = Ingester(spool, engine, poll=0.05)
    assert ingester.drain()
    assert [stored(engine, link_id) for link_id in links] == [(1, 1), (2, 2), (4, 4)]
    assert spool.names() == [] and ingester.stored == 6
    assert recorded(engine, [old, *newer]) == {old, *newer}


def test_groups_are_cut_at_group_clicks(
    engine: Engine, links: list[str], spool: Spool, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(ingest, "GROUP_CLICKS", 3)
    calls = StoreCalls(monkeypatch).calls
    names = [spool.write(visits(links[0], 2)) for _ in range(3)]
    assert Ingester(spool, engine, poll=0.05).drain()
    assert calls == [(names[:2], 4), (names[2:], 2)]
    assert stored(engine, links[0]) == (6, 6) and spool.names() == []


def test_an_unreadable_file_is_moved_aside_and_blocks_nothing(
    engine: Engine, links: list[str], spool: Spool
) -> None:
    broken = spool.write([])
    (spool.directory / broken).write_text('[["x", 1.0, "ua", nu')  # not JSON
    not_utf8 = spool.write([])
    (spool.directory / not_utf8).write_bytes(b'["\xff\xfe"]')
    good = spool.write(visits(links[0], 3))
    ingester = Ingester(spool, engine, poll=0.05)
    assert ingester.drain()
    assert stored(engine, links[0]) == (3, 3)
    assert spool.names() == [] and recorded(engine, [broken, not_utf8, good]) == {good}
    assert sorted(path.name for path in spool.directory.iterdir()) == sorted(
        [f"{broken}.bad", f"{not_utf8}.bad"]
    )
    later = spool.write(visits(links[1], 1))
    assert ingester.drain() and stored(engine, links[1]) == (1, 1)
    assert spool.names() == [] and later not in {p.name for p in spool.directory.iterdir()}


def test_clicks_of_a_link_removed_meanwhile_are_left_out(
    engine: Engine, links: list[str], spool: Spool
) -> None:
    gone = str(uuid.uuid4())  # e.g. its account was deleted after the click
    name = spool.write(visits(links[0], 2) + visits(gone, 3))
    assert Ingester(spool, engine, poll=0.05).drain()
    assert stored(engine, links[0]) == (2, 2) and stored_clicks(engine, gone) == 0
    assert spool.names() == [] and recorded(engine, [name]) == {name}


def _unreachable(engine: Engine, tmp_path: Path) -> Engine:
    """An engine of the same kind whose database cannot be reached."""
    if engine.dialect.name == "sqlite":
        return create_engine(f"sqlite:///{tmp_path / 'missing' / 'kliqs.sqlite'}")
    return create_engine(engine.url.set(host="127.0.0.1", port=free_port()),
                         connect_args={"connect_timeout": 2})


def test_an_unreachable_database_keeps_the_file_for_a_retry(
    engine: Engine, links: list[str], spool: Spool, tmp_path: Path
) -> None:
    name = spool.write(visits(links[0], 3))
    away = _unreachable(engine, tmp_path)
    try:
        assert not Ingester(spool, away, poll=0.05).drain()
    finally:
        away.dispose()
    assert spool.names() == [name] and stored(engine, links[0]) == (0, 0)
    assert Ingester(spool, engine, poll=0.05).drain()
    assert stored(engine, links[0]) == (3, 3) and spool.names() == []


def test_a_failure_inside_the_transaction_records_no_batch(
    engine: Engine, links: list[str], spool: Spool, monkeypatch: pytest.MonkeyPatch
) -> None:
    # The batch's name is claimed first; a failure after it must take the claim back with
    # the rows, or the retry would think the file stored and drop its clicks.
    name = spool.write(visits(links[0], 3))
    kind = "_sqlite" if engine.dialect.name == "sqlite" else "_postgres"
    real = getattr(clickstore, kind)
    attempts: list[int] = []

    def failing_once(conn: Any, rows: list[Any], counts: list[Any]) -> None:
        attempts.append(len(rows))
        real(conn, rows, counts)  # the rows are written, then the transaction fails
        if len(attempts) == 1:
            raise OperationalError("UPDATE links", {}, Exception("database is locked"))

    monkeypatch.setattr(clickstore, kind, failing_once)
    ingester = Ingester(spool, engine, poll=0.05)
    assert not ingester.drain()
    assert spool.names() == [name] and recorded(engine, [name]) == set()
    assert stored(engine, links[0]) == (0, 0) and ingester.stored == 0
    assert ingester.drain()
    assert attempts == [3, 3]
    assert stored(engine, links[0]) == (3, 3) and spool.names() == []


def test_run_stores_files_as_they_come(
    engine: Engine, links: list[str], spool: Spool
) -> None:
    ingester = Ingester(spool, engine, poll=0.02)
    stop = threading.Event()
    runner = threading.Thread(target=ingester.run, args=(stop,))
    runner.start()
    try:
        for link_id, n in zip(links, (2, 3)):
            spool.write(visits(link_id, n))
            deadline = time.monotonic() + 5
            while stored_clicks(engine, link_id) < n and time.monotonic() < deadline:
                time.sleep(0.02)
            assert stored(engine, link_id) == (n, n)
    finally:
        stop.set()
        runner.join(10)
    assert not runner.is_alive() and spool.names() == [] and ingester.stored == 5


def test_run_drains_what_is_left_when_stopped(
    engine: Engine, links: list[str], spool: Spool
) -> None:
    # The serving process closed the ingester's input after its workers' last batches.
    names = [spool.write(visits(link_id, 2)) for link_id in links]
    stop = threading.Event()
    stop.set()
    ingester = Ingester(spool, engine, poll=3600)
    ingester.run(stop)  # returns at once, after storing everything
    assert [stored(engine, link_id) for link_id in links] == [(2, 2)] * 3
    assert spool.names() == [] and recorded(engine, names) == set(names)


@pytest.mark.parametrize("content", ["null", '[["x"]]'], ids=["null", "short-visit"])
def test_a_json_file_that_is_no_batch_blocks_nothing(
    engine: Engine, links: list[str], spool: Spool, content: str
) -> None:
    # Valid JSON of the wrong shape must not stop the ingester either: raised out of drain,
    # it ends the ingester process, and every later batch waits (again at each start).
    odd = spool.write([])
    (spool.directory / odd).write_text(content)
    good = spool.write(visits(links[0], 2))
    assert Ingester(spool, engine, poll=0.05).drain()
    assert stored(engine, links[0]) == (2, 2)
    assert spool.names() == [] and recorded(engine, [good]) == {good}
