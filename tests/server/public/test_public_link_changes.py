"""The link change feed: the triggers of migration 0004 that fill ``link_changes`` (SQLite
and PostgreSQL), and the :class:`ChangeFeed` that follows it for each worker's cache."""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import Callable, Iterator
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import Engine, delete, func, insert, select, update

from kliqs_testing.databases import Database, make_database
from public_support import unique_slug
from server.config import Settings
from server.db.engine import make_engine
from server.db.migrate import upgrade
from server.db.models import Account, BioPage, Link, LinkChange
from server.public import changes, clickstore
from server.public.changes import STALE_AFTER, ChangeFeed
from server.public.targets import make_store

KEEP = 100_000


def _settings(database: Database, folder: Path) -> Settings:
    return Settings(data_dir=folder, database_url=database.url, secret_key="s")


@pytest.fixture(scope="module")
def engine(database: Database, module_dir: Path) -> Iterator[Engine]:
    """The module's database, migrated to head (triggers included)."""
    engine = make_engine(_settings(database, module_dir))
    upgrade(engine)
    yield engine
    engine.dispose()


def _account(engine: Engine) -> str:
    account_id = str(uuid.uuid4())
    with engine.begin() as conn:
        conn.execute(insert(Account).values(id=account_id, email=f"{account_id}@toko.id",
                                            plan="pro", links_count=0,
                                            created_at=datetime.now(UTC)))
    return account_id


def _link(engine: Engine, account_id: str, code: str | None = None) -> tuple[str, str]:
    """A new link of ``account_id``: (id, code)."""
    link_id, code = str(uuid.uuid4()), code or unique_slug("c")
    now = datetime.now(UTC)
    with engine.begin() as conn:
        conn.execute(insert(Link).values(id=link_id, account_id=account_id, code=code,
                                         destination_url="https://toko.id/a", clicks=0,
                                         created_at=now, updated_at=now))
    return link_id, code


def _bio(engine: Engine, account_id: str) -> str:
    handle = unique_slug("bio")
    with engine.begin() as conn:
        conn.execute(insert(BioPage).values(account_id=account_id, handle=handle,
                                            display_name="Toko", text="", links=[],
                                            updated_at=datetime.now(UTC)))
    return handle


def _last_seq(engine: Engine) -> int:
    with engine.connect() as conn:
        return int(conn.execute(select(func.coalesce(func.max(LinkChange.seq), 0))).scalar_one())


def _codes_after(engine: Engine, seq: int) -> list[str]:
    """The codes the feed holds after ``seq``, oldest first."""
    with engine.connect() as conn:
        return list(conn.execute(select(LinkChange.code).where(LinkChange.seq > seq)
                                 .order_by(LinkChange.seq)).scalars())


def _change_link(engine: Engine, link_id: str, **values: Any) -> None:
    with engine.begin() as conn:
        assert conn.execute(update(Link).where(Link.id == link_id).values(**values)).rowcount == 1


# -- the triggers -----------------------------------------------------------------------------

LATER = datetime(2031, 1, 1, tzinfo=UTC)


@pytest.mark.parametrize(
    "values",
    [
        {"destination_url": "https://toko.id/b"},
        {"expires_at": LATER},
        {"password_hash": "$argon2id$v=19$m=65536,t=3,p=4$x$y"},
        {"title": "Kaos merah"},
        {"deleted_at": LATER},
        {"title": "Kaos biru", "destination_url": "https://toko.id/c", "clicks": 3},
    ],
    ids=["destination", "expiry", "password", "title", "deletion", "several"],
)
def test_changing_what_a_code_answers_notes_the_code_once(
    engine: Engine, values: dict[str, Any]
) -> None:
    link_id, code = _link(engine, _account(engine))
    start = _last_seq(engine)
    _change_link(engine, link_id, **values)
    assert _codes_after(engine, start) == [code]


def test_a_new_code_notes_the_old_code_then_the_new_one(engine: Engine) -> None:
    link_id, old = _link(engine, _account(engine))
    new = unique_slug("renamed")
    start = _last_seq(engine)
    _change_link(engine, link_id, code=new)
    assert _codes_after(engine, start) == [old, new]


def test_counting_clicks_and_creating_links_note_nothing(engine: Engine) -> None:
    account_id = _account(engine)
    start = _last_seq(engine)
    link_id, _code = _link(engine, account_id)
    _change_link(engine, link_id, clicks=Link.clicks + 1)
    _change_link(engine, link_id, description="only in the dashboard",
                 updated_at=datetime.now(UTC))
    # The ingester's own statement (json_each / unnest UPDATE of links.clicks).
    ts = datetime.now(UTC).replace(tzinfo=None)
    clickstore.store(engine, [(link_id, ts.isoformat(" ", "microseconds")
                               if engine.dialect.name == "sqlite" else ts,
                               None, None, None, "other", False, None, None)])
    with engine.connect() as conn:
        assert conn.execute(select(Link.clicks).where(Link.id == link_id)).scalar_one() == 2
    assert _codes_after(engine, start) == []


def test_deleting_a_link_notes_its_code(engine: Engine) -> None:
    link_id, code = _link(engine, _account(engine))
    start = _last_seq(engine)
    with engine.begin() as conn:
        conn.execute(delete(Link).where(Link.id == link_id))
    assert _codes_after(engine, start) == [code]


def test_deleting_an_account_notes_every_code_it_held(engine: Engine) -> None:
    account_id = _account(engine)
    codes = {_link(engine, account_id)[1] for _ in range(3)}
    handle = _bio(engine, account_id)
    start = _last_seq(engine)
    with engine.begin() as conn:
        conn.execute(delete(Account).where(Account.id == account_id))  # cascades
    assert sorted(_codes_after(engine, start)) == sorted([*codes, handle])


def test_bio_page_changes_note_the_handle(engine: Engine) -> None:
    account_id = _account(engine)
    old = _bio(engine, account_id)
    start = _last_seq(engine)
    with engine.begin() as conn:
        conn.execute(update(BioPage).where(BioPage.account_id == account_id)
                     .values(display_name="Toko Baru"))
    assert _codes_after(engine, start) == [old]

    new = unique_slug("bio")
    start = _last_seq(engine)
    with engine.begin() as conn:
        conn.execute(update(BioPage).where(BioPage.account_id == account_id).values(handle=new))
    assert _codes_after(engine, start) == [old, new]

    start = _last_seq(engine)
    with engine.begin() as conn:
        conn.execute(delete(BioPage).where(BioPage.account_id == account_id))
    assert _codes_after(engine, start) == [new]


def test_a_rolled_back_change_notes_nothing(engine: Engine) -> None:
    link_id, _code = _link(engine, _account(engine))
    start = _last_seq(engine)
    with engine.connect() as conn:
        conn.execute(update(Link).where(Link.id == link_id).values(title="never"))
        conn.rollback()
    assert _codes_after(engine, start) == []


def test_the_feed_keeps_the_newest_100000_rows(backend: str, tmp_path: Path) -> None:
    database = make_database(backend, tmp_path)  # a fresh feed of its own
    engine = make_engine(_settings(database, tmp_path))
    try:
        upgrade(engine)
        link_id, code = _link(engine, _account(engine))
        with engine.begin() as conn:  # rows 1 .. 101,999, as if written by earlier changes
            if backend == "sqlite":
                conn.exec_driver_sql(
                    "WITH RECURSIVE n(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM n "
                    "WHERE i < 101999) INSERT INTO link_changes (seq, code) SELECT i, 'old' FROM n"
                )
            else:
                conn.exec_driver_sql("INSERT INTO link_changes (seq, code) "
                                     "SELECT i, 'old' FROM generate_series(1, 101999) AS i")
                conn.exec_driver_sql(
                    "SELECT setval(pg_get_serial_sequence('link_changes', 'seq'), 101999)"
                )
        _change_link(engine, link_id, title="seq 102000")  # a multiple of 1,000: trims
        with engine.connect() as conn:
            count, low, high = conn.execute(
                select(func.count(), func.min(LinkChange.seq), func.max(LinkChange.seq))
            ).one()
        assert (count, low, high) == (KEEP, 102_000 - KEEP + 1, 102_000)
        assert _codes_after(engine, 101_999) == [code]

        _change_link(engine, link_id, title="seq 102001")  # not a multiple: no trim
        with engine.connect() as conn:
            assert conn.execute(select(func.count()).select_from(LinkChange)).scalar_one() \
                == KEEP + 1
    finally:
        engine.dispose()
        database.drop()


# -- ChangeFeed on its own --------------------------------------------------------------------


class FakeFeed:
    """The feed's database side and the cache's callbacks, recorded."""

    def __init__(self, rows: list[tuple[int, str]] | None = None, last: int = 0) -> None:
        self.rows = rows or []
        self.last = last
        self.reads: list[int] = []
        self.dropped: list[str] = []
        self.emptied = 0
        self.failing = False

    async def read(self, seq: int) -> list[tuple[int, str]]:
        self.reads.append(seq)
        if self.failing:
            raise ConnectionError("database away")
        return [row for row in self.rows if row[0] > seq]

    async def read_last(self) -> int:
        if self.failing:
            raise ConnectionError("database away")
        return self.last

    def drop_all(self) -> None:
        self.emptied += 1

    def feed(self, interval: float = 3600) -> ChangeFeed:
        return ChangeFeed(self.read, self.read_last, self.dropped.append, self.drop_all,
                          interval)


def test_poll_drops_lower_cased_codes_and_moves_on() -> None:
    fake = FakeFeed([(7, "Promo-AB"), (8, "kaos")])
    feed = fake.feed()
    asyncio.run(feed.poll())
    assert fake.dropped == ["promo-ab", "kaos"]
    assert (feed.seq, feed.generation, fake.emptied) == (8, 1, 0)

    asyncio.run(feed.poll())  # nothing new: nothing dropped, generation unchanged
    assert fake.reads == [0, 8]
    assert (fake.dropped, feed.seq, feed.generation) == (["promo-ab", "kaos"], 8, 1)

    fake.rows.append((9, "BARU"))
    asyncio.run(feed.poll())
    assert fake.reads[-1] == 8 and fake.dropped[-1] == "baru"
    assert (feed.seq, feed.generation) == (9, 2)


def test_a_hole_is_read_again_until_its_row_arrives_or_it_is_given_up(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """Row 9 is still in an open transaction when row 10 is read (PostgreSQL numbers rows
    at insert, not at commit): later polls read from below the hole until it is filled."""
    now = [1000.0]
    monkeypatch.setattr(changes, "monotonic", lambda: now[0])
    fake = FakeFeed([(8, "a"), (10, "c")], last=8)

    async def scenario() -> None:
        feed = fake.feed()
        await feed.start()
        await feed.poll()
        assert fake.dropped == ["c"] and fake.reads[-1] == 8
        fake.rows.insert(1, (9, "B"))  # the slow transaction commits
        await feed.poll()
        assert fake.reads[-1] == 8  # read again from below the hole
        assert fake.dropped == ["c", "b"] and feed.generation == 2
        await feed.poll()
        assert fake.reads[-1] == 10 and fake.dropped == ["c", "b"]  # hole filled: moved on
        fake.rows.append((12, "e"))  # 11 rolled back: never arrives
        await feed.poll()
        assert fake.reads[-1] == 10 and fake.dropped[-1] == "e"
        await feed.poll()
        assert fake.reads[-1] == 10  # still waiting for 11
        now[0] += changes.GAP_WAIT + 1
        await feed.poll()
        await feed.poll()
        assert fake.reads[-1] == 12  # given up on 11
        assert fake.dropped == ["c", "b", "e"]
        await feed.stop()

    asyncio.run(scenario())


def test_a_hole_above_an_empty_feed_is_a_hole_too() -> None:
    """The feed was empty at start (a new database): row 1 is still in an open transaction
    when row 2 is read; row 1 must be read when it commits."""
    fake = FakeFeed([(2, "quick")], last=0)

    async def scenario() -> None:
        feed = fake.feed()
        await feed.start()
        await feed.poll()
        fake.rows.insert(0, (1, "slow"))
        await feed.poll()
        await feed.stop()

    asyncio.run(scenario())
    assert fake.dropped == ["quick", "slow"]


def test_rows_before_the_first_seen_are_history_when_the_start_failed() -> None:
    """Start-up could not read the feed: the first rows read are not preceded by holes
    (the rows below were trimmed long ago), so nothing is read again for them."""
    fake = FakeFeed([(500, "a"), (501, "b")])
    fake.failing = True

    async def scenario() -> None:
        feed = fake.feed()
        await feed.start()
        fake.failing = False
        await feed.poll()
        await feed.poll()
        await feed.stop()

    asyncio.run(scenario())
    assert fake.dropped == ["a", "b"] and fake.reads == [0, 501]


async def _until_dropped(fake: FakeFeed, timeout: float = 5.0) -> None:
    """Wait until the feed dropped something (or the timeout)."""
    for _ in range(int(timeout / 0.01)):
        if fake.dropped:
            return
        await asyncio.sleep(0.01)


def test_start_begins_after_the_newest_change_and_follows() -> None:
    fake = FakeFeed([(40, "old"), (41, "older-too"), (42, "new")], last=41)

    async def scenario() -> ChangeFeed:
        feed = fake.feed(interval=0.01)
        await feed.start()
        assert feed.seq == 41
        await _until_dropped(fake)  # the follower polls on its own
        await feed.stop()
        return feed

    feed = asyncio.run(scenario())
    assert fake.dropped == ["new"]  # nothing from before the start
    assert fake.reads[0] == 41 and feed.seq == 42 and fake.emptied == 0


def test_start_without_a_database_begins_at_zero_and_keeps_following() -> None:
    fake = FakeFeed([(3, "a-b-c")])
    fake.failing = True

    async def scenario() -> ChangeFeed:
        feed = fake.feed(interval=0.01)
        await feed.start()
        assert feed.seq == 0
        for _ in range(5):
            await asyncio.sleep(0.01)
        assert fake.reads and not fake.dropped  # failed reads are retried, not fatal
        fake.failing = False
        await _until_dropped(fake)
        await feed.stop()
        return feed

    feed = asyncio.run(scenario())
    assert fake.dropped == ["a-b-c"] and feed.seq == 3


class Clock:
    def __init__(self) -> None:
        self.now = 1_000.0

    def __call__(self) -> float:
        return self.now


@pytest.fixture
def clock(monkeypatch: pytest.MonkeyPatch) -> Clock:
    clock = Clock()
    monkeypatch.setattr(changes, "monotonic", clock)
    return clock


def test_a_feed_unread_for_too_long_empties_the_cache(clock: Clock) -> None:
    fake = FakeFeed()
    feed = fake.feed()
    clock.now += STALE_AFTER
    asyncio.run(feed.poll())  # exactly the bound: still fine
    assert fake.emptied == 0 and feed.generation == 0

    clock.now += STALE_AFTER + 0.5
    asyncio.run(feed.poll())
    assert fake.emptied == 1 and feed.generation == 1

    clock.now += 1
    asyncio.run(feed.poll())  # read again in time: the cache stays
    assert fake.emptied == 1 and feed.generation == 1


def test_failed_reads_do_not_count_as_reads(clock: Clock) -> None:
    fake = FakeFeed([(5, "kaos")])
    feed = fake.feed()
    fake.failing = True
    for _ in range(3):
        clock.now += STALE_AFTER / 2
        with pytest.raises(ConnectionError):
            asyncio.run(feed.poll())
    assert fake.emptied == 0  # nothing is done without a successful read
    fake.failing = False
    asyncio.run(feed.poll())  # rows may have been trimmed meanwhile: everything goes
    assert fake.emptied == 1 and fake.dropped == ["kaos"]
    assert feed.seq == 5 and feed.generation == 2


def test_a_slow_start_does_not_count_as_unread(clock: Clock) -> None:
    fake = FakeFeed(last=3)
    feed = fake.feed()  # built at start-up ...
    clock.now += STALE_AFTER * 2  # ... started much later (a slow migration, a slow secret)

    async def scenario() -> None:
        await feed.start()
        await feed.poll()
        await feed.stop()

    asyncio.run(scenario())
    assert fake.emptied == 0 and feed.seq == 3


# -- ChangeFeed on the real stores ------------------------------------------------------------


def _follow(engine: Engine, database: Database, folder: Path,
            act: Callable[[], list[str]]) -> tuple[list[str], list[str]]:
    """Start a feed on a real reader store, run ``act`` (returns the codes it changed), and
    collect the codes the follower drops (waiting at most 5 s for them)."""
    reader = make_engine(_settings(database, folder), writer=False)
    store = make_store(reader)
    dropped: list[str] = []

    async def scenario() -> list[str]:
        feed = ChangeFeed(store.changes_since, store.last_change, dropped.append,
                          lambda: None, interval=0.02)
        await feed.start()
        assert feed.seq == _last_seq(engine)
        expected = act()
        for _ in range(250):
            if len(dropped) >= len(expected):
                break
            await asyncio.sleep(0.02)
        await asyncio.sleep(0.1)  # and nothing more comes
        await feed.stop()
        return expected

    try:
        expected = asyncio.run(scenario())
    finally:
        store.close()
        reader.dispose()
    return expected, dropped


def test_the_follower_drops_what_was_edited_renamed_or_deleted(
    engine: Engine, database: Database, module_dir: Path
) -> None:
    account_id = _account(engine)
    edited, renamed, removed, clicked = (_link(engine, account_id) for _ in range(4))
    new_code = unique_slug("new")

    def act() -> list[str]:
        _change_link(engine, edited[0], destination_url="https://toko.id/baru")
        _change_link(engine, renamed[0], code=new_code)
        _change_link(engine, clicked[0], clicks=Link.clicks + 5)
        with engine.begin() as conn:
            conn.execute(delete(Link).where(Link.id == removed[0]))
        return [edited[1], renamed[1], new_code, removed[1]]

    expected, dropped = _follow(engine, database, module_dir, act)
    assert dropped == expected


@pytest.fixture
def postgres_engine(tmp_path: Path) -> Iterator[tuple[Engine, Database]]:
    """A fresh PostgreSQL database, migrated (whatever the module's ``database`` is)."""
    database = make_database("postgres", tmp_path)
    engine = make_engine(_settings(database, tmp_path))
    try:
        upgrade(engine)
        yield engine, database
    finally:
        engine.dispose()
        database.drop()


def test_a_change_committed_after_a_later_one_is_still_seen(
    postgres_engine: tuple[Engine, Database], tmp_path: Path
) -> None:
    """PostgreSQL takes ``seq`` at INSERT, not at commit: two links edited in overlapping
    transactions commit out of ``seq`` order. The feed must still name both codes. (SQLite
    has one writer at a time: its rows always commit in ``seq`` order.)"""
    engine, database = postgres_engine
    account_id = _account(engine)
    slow, quick = _link(engine, account_id), _link(engine, account_id)
    reader = make_engine(_settings(database, tmp_path), writer=False)
    store = make_store(reader)
    dropped: list[str] = []

    async def scenario() -> None:
        feed = ChangeFeed(store.changes_since, store.last_change, dropped.append,
                          lambda: None, interval=3600)
        await feed.start()
        with engine.connect() as conn:  # e.g. an API PATCH still in its transaction
            conn.execute(update(Link).where(Link.id == slow[0])
                         .values(destination_url="https://toko.id/slow"))
            _change_link(engine, quick[0], destination_url="https://toko.id/quick")
            await feed.poll()  # a worker reads the feed between the two commits
            conn.commit()
        await feed.poll()
        await feed.stop()

    try:
        asyncio.run(scenario())
    finally:
        reader.dispose()
    assert sorted(dropped) == sorted([slow[1], quick[1]]), (
        f"{slow[1]} was never dropped: its worker caches keep the old destination"
    )

