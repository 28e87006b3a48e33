"""The public side's parts on their own: query joining, the TTL LRU, visitor description,
the click recorder's batches."""

from __future__ import annotations

import time
import uuid
from datetime import UTC, date, datetime
from pathlib import Path

import pytest
from sqlalchemy import func, insert, select
from sqlalchemy.exc import OperationalError

from public_support import DESKTOP, GOOGLEBOT, IPHONE
from server.config import Settings
from server.db.engine import make_engine
from server.db.migrate import upgrade
from server.db.models import Account, Click, Link
from server.public import clickstore
from server.public.cache import TtlLru
from server.public.clicks import ClickRecorder
from server.public.location import with_query
from server.public.targets import (
    CODE,
    DESTINATION,
    LINK_ID,
    expand,
    is_link,
    is_plain,
    plain_target,
    unpack_plain,
)
from server.public.visitors import VisitorHasher, classify, client_ip, country, referrer_host

ANDROID_TABLET = ("Mozilla/5.0 (Linux; Android 13; SM-X200) AppleWebKit/537.36 (KHTML, like "
                  "Gecko) Chrome/119.0.0.0 Safari/537.36")
ANDROID_PHONE = ("Mozilla/5.0 (Linux; Android 13; SM-A146P) AppleWebKit/537.36 (KHTML, like "
                 "Gecko) Chrome/119.0.0.0 Mobile Safari/537.36")


@pytest.mark.parametrize(
    ("destination", "query", "expected"),
    [
        ("https://a.id/p", b"", "https://a.id/p"),
        ("https://a.id/p", b"x=1", "https://a.id/p?x=1"),
        ("https://a.id/p?", b"x=1", "https://a.id/p?x=1"),
        ("https://a.id/p?a=1&", b"x=1", "https://a.id/p?a=1&x=1"),
        ("https://a.id/p?a=1#f", b"x=1", "https://a.id/p?a=1&x=1#f"),
        ("https://a.id/p", b"q=kaos merah\r\n", "https://a.id/p?q=kaos%20merah%0D%0A"),
        ("https://a.id/p", "q=café".encode(), "https://a.id/p?q=caf%C3%A9"),
    ],
)
def test_with_query_joins_and_keeps_headers_safe(destination: str, query: bytes, expected: str
                                                 ) -> None:
    assert with_query(destination, query) == expected


@pytest.mark.parametrize("link_id", [str(uuid.UUID(int=7)), "x", "l" * 255])
def test_a_plain_target_is_one_bytes_with_the_id_and_location(link_id: str) -> None:
    target = plain_target(link_id, "https://toko.id/kaos?warna=merah")
    assert type(target) is bytes and is_plain(target) and is_link(target)
    assert unpack_plain(target) == (link_id, b"https://toko.id/kaos?warna=merah")
    full = expand("kaos", target)
    assert full[LINK_ID] == link_id and full[CODE] == "kaos"  # type: ignore[index]
    assert full[DESTINATION] == "https://toko.id/kaos?warna=merah"  # type: ignore[index]
    assert expand("kaos", full) is full and not is_plain(full) and is_link(full)


def test_a_plain_target_refuses_an_id_it_cannot_pack() -> None:
    with pytest.raises(ValueError):
        plain_target("l" * 256, "https://toko.id/")


def test_ttl_lru_expires_evicts_and_discards() -> None:
    now = [100.0]
    cache: TtlLru[str] = TtlLru(2, clock=lambda: now[0])
    cache.put("a", "A", 2)
    cache.put("b", "B", 2)
    assert cache.get("a") == "A"  # "a" is now the most recent
    cache.put("c", "C", 2)
    assert cache.get("b") is None and cache.get("a") == "A" and len(cache) == 2
    now[0] += 2
    assert cache.get("a") is None  # aged out exactly at its deadline
    cache.put("a", "A2", 1)
    cache.discard("a")
    assert cache.get("a") is None
    cache.put("z", "Z", 0)
    assert cache.get("z") is None


def test_ttl_lru_drops_expired_entries_as_new_ones_come() -> None:
    now = [0.0]
    cache: TtlLru[int] = TtlLru(50_000, clock=lambda: now[0])
    for i in range(1000):
        cache.put(str(i), i, 2)
    now[0] = 5.0
    for i in range(1000, 1600):
        cache.put(str(i), i, 2)
    assert len(cache) == 600  # the 1,000 expired ones went, two per insert
    assert cache.get("1599") == 1599


def test_classify_names_browser_os_device_and_bots() -> None:
    assert classify(IPHONE) == classify(IPHONE)  # cached
    phone = classify(IPHONE)
    assert (phone.browser, phone.os, phone.device, phone.is_bot) == ("Mobile Safari", "iOS",
                                                                     "mobile", False)
    assert classify(DESKTOP).device == "desktop"
    assert classify(ANDROID_PHONE).device == "mobile"
    assert classify(ANDROID_TABLET).device == "tablet"
    for bot in (GOOGLEBOT, "facebookexternalhit/1.1", "curl/8.4.0", "python-requests/2.31", ""):
        assert classify(bot).is_bot and classify(bot).device == "bot", bot


def test_referrer_country_and_ip_are_read_defensively() -> None:
    assert referrer_host("https://WWW.Instagram.com/x?y") == "www.instagram.com"
    assert referrer_host("not a url") is None and referrer_host(None) is None
    assert referrer_host("http://[::1") is None
    assert country(" id ") == "ID"
    assert country("XX") is None and country("T1") is None and country("IDN") is None
    assert client_ip("203.0.113.5, 10.0.0.1", "127.0.0.1") == "203.0.113.5"
    assert client_ip(None, "127.0.0.1") == "127.0.0.1"


def test_visitor_hash_is_salted_daily_and_never_the_ip() -> None:
    hasher = VisitorHasher(b"secret-1")
    day, next_day = date(2026, 11, 24), date(2026, 11, 25)
    today = hasher.daily(day, "203.0.113.5", IPHONE)
    assert today == hasher.daily(day, "203.0.113.5", IPHONE)
    assert today != hasher.daily(day, "203.0.113.6", IPHONE)
    assert today != hasher.daily(day, "203.0.113.5", DESKTOP)
    assert today != hasher.daily(next_day, "203.0.113.5", IPHONE)
    assert today == hasher.daily(day, "203.0.113.5", IPHONE)  # back to the same day
    assert today != VisitorHasher(b"secret-2").daily(day, "203.0.113.5", IPHONE)
    assert len(today) == 32 and "203" not in today


@pytest.fixture
def recorder_db(tmp_path: Path) -> tuple[Settings, str]:
    settings = Settings(data_dir=tmp_path, click_batch_size=7, secret_key="s")
    engine = make_engine(settings)
    upgrade(engine)
    link_id = str(uuid.uuid4())
    now = datetime.now(UTC)
    with engine.begin() as conn:
        conn.execute(insert(Account).values(id="acc", email="a@b.id", plan="pro", links_count=1,
                                            created_at=now))
        conn.execute(insert(Link).values(id=link_id, account_id="acc", code="abc",
                                         destination_url="https://a.id", clicks=0,
                                         created_at=now, updated_at=now))
    engine.dispose()
    return settings, link_id


def _recorder(settings: Settings) -> ClickRecorder:
    return ClickRecorder(settings, lambda: make_engine(settings), lambda _e: b"s")


def _stored(settings: Settings, link_id: str) -> tuple[int, int]:
    engine = make_engine(settings)
    with engine.connect() as conn:
        rows = conn.execute(select(func.count()).select_from(Click)).scalar_one()
        counter = conn.execute(select(Link.clicks).where(Link.id == link_id)).scalar_one()
    engine.dispose()
    return rows, counter


def test_recorder_writes_rows_and_counter_together_in_batches(
    recorder_db: tuple[Settings, str]
) -> None:
    settings, link_id = recorder_db
    recorder = _recorder(settings)
    headers = [(b"user-agent", IPHONE.encode()), (b"referer", b"https://t.co/x")]
    for _ in range(20):  # three batches of at most 7
        recorder._buffer.append((link_id, time.time(), headers, ("203.0.113.9", 1)))
    assert recorder.flush() == 20
    assert _stored(settings, link_id) == (20, 20)
    assert recorder.pending() == 0
    recorder.close()


def test_recorder_keeps_clicks_when_the_database_fails(
    recorder_db: tuple[Settings, str], monkeypatch: pytest.MonkeyPatch
) -> None:
    settings, link_id = recorder_db
    recorder = _recorder(settings)
    real_store = clickstore.store

    def failing(*_args: object) -> None:
        raise OperationalError("INSERT", {}, Exception("database is locked"))

    monkeypatch.setattr(clickstore, "store", failing)
    recorder._buffer.append((link_id, time.time(), [], None))
    assert recorder.flush() == 0 and recorder.pending() == 1
    monkeypatch.setattr(clickstore, "store", real_store)
    assert recorder.flush() == 1
    assert _stored(settings, link_id) == (1, 1)
    recorder.close()
