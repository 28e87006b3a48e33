"""The token bucket: timing on a fake clock, threads, and the shared Redis backend."""

from __future__ import annotations

import threading
import time
import uuid
from collections.abc import Iterator

import pytest
from kliqs_testing.databases import redis_url

from integrations.whatsapp_bot.ratelimit import LocalBackend, RedisBackend, TokenBucket

# A waiting bug shows as a hang (a float clock that cannot advance): fail fast instead.
pytestmark = pytest.mark.timeout(30)


def test_burst_up_to_capacity_then_waits_one_interval(fake_clock):
    bucket = TokenBucket(10, capacity=3, clock=fake_clock, sleep=fake_clock.sleep)

    assert [bucket.try_acquire() for _ in range(3)] == [0, 0, 0]
    assert bucket.try_acquire() == pytest.approx(0.1)


def test_tokens_refill_at_the_rate_and_cap_at_capacity(fake_clock):
    bucket = TokenBucket(10, capacity=3, clock=fake_clock, sleep=fake_clock.sleep)
    for _ in range(3):
        bucket.try_acquire()

    fake_clock.advance(0.25)  # 2.5 tokens back
    assert [bucket.try_acquire() for _ in range(2)] == [0, 0]
    assert bucket.try_acquire() == pytest.approx(0.05)

    fake_clock.advance(60)  # long idle: still only `capacity` tokens
    assert [bucket.try_acquire() for _ in range(3)] == [0, 0, 0]
    assert bucket.try_acquire() > 0


def test_acquire_sleeps_exactly_until_a_token_is_back(fake_clock):
    bucket = TokenBucket(80, capacity=80, clock=fake_clock, sleep=fake_clock.sleep)
    start = fake_clock.now

    for _ in range(240):
        assert bucket.acquire(timeout=10)

    # 80 at once, then one every 1/80 s: 160 more take two seconds.
    assert fake_clock.now - start == pytest.approx(2.0)
    assert all(s == pytest.approx(1 / 80) for s in fake_clock.sleeps)
    assert len(fake_clock.sleeps) == 160


def test_acquire_gives_up_when_the_wait_passes_the_timeout(fake_clock):
    bucket = TokenBucket(1, capacity=1, clock=fake_clock, sleep=fake_clock.sleep)
    assert bucket.acquire(timeout=0)

    assert bucket.acquire(timeout=0.5) is False
    assert fake_clock.sleeps == []  # it did not wait in vain
    assert bucket.acquire(timeout=1.0) is True
    assert fake_clock.sleeps == [pytest.approx(1.0)]


def test_acquire_without_timeout_waits_as_long_as_needed(fake_clock):
    bucket = TokenBucket(0.5, capacity=1, clock=fake_clock, sleep=fake_clock.sleep)
    bucket.acquire()
    assert bucket.acquire() is True
    assert fake_clock.sleeps == [pytest.approx(2.0)]


def test_capacity_defaults_to_one_second_of_rate(fake_clock):
    bucket = TokenBucket(5, clock=fake_clock, sleep=fake_clock.sleep)
    assert bucket.capacity == 5
    assert [bucket.try_acquire() for _ in range(6)][-1] == pytest.approx(0.2)


@pytest.mark.parametrize(("rate", "capacity"), [(0, 1), (-1, 1), (10, 0.5)])
def test_invalid_rate_or_capacity_is_refused(rate, capacity):
    with pytest.raises(ValueError):
        TokenBucket(rate, capacity)


def test_taking_more_than_capacity_is_refused(fake_clock):
    with pytest.raises(ValueError):
        TokenBucket(10, capacity=2, clock=fake_clock).try_acquire(3)


def test_without_redis_the_bucket_is_local(fake_clock):
    assert isinstance(TokenBucket(10, clock=fake_clock)._backend, LocalBackend)


def test_local_bucket_is_thread_safe_on_the_real_clock():
    # A tiny refill rate: within the test only the initial 50 tokens exist, so exactly 50 of the
    # 200 concurrent takes may succeed; a race would let more through.
    bucket = TokenBucket(0.001, capacity=50)
    granted: list[float] = []
    barrier = threading.Barrier(8)

    def worker() -> None:
        barrier.wait()
        for _ in range(25):
            granted.append(bucket.try_acquire())

    threads = [threading.Thread(target=worker) for _ in range(8)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert sum(1 for wait in granted if wait == 0) == 50


# ---- Redis ------------------------------------------------------------------------------------


@pytest.fixture
def redis_bucket() -> Iterator[tuple[str, str]]:
    """(URL, fresh bucket key) on the test Redis: skipped without one, failed in CI."""
    import redis

    url = redis_url()
    key = f"test-{uuid.uuid4().hex}"
    yield url, key
    client = redis.Redis.from_url(url)
    client.delete("kliqs:whatsapp:bucket:" + key)
    client.close()


@pytest.mark.redis
def test_redis_bucket_bursts_then_asks_to_wait(redis_bucket):
    url, key = redis_bucket
    bucket = TokenBucket(10, capacity=5, redis_url=url, key=key)
    assert isinstance(bucket._backend, RedisBackend)

    waits = [bucket.try_acquire() for _ in range(6)]

    assert waits[:5] == [0, 0, 0, 0, 0]
    assert 0.05 < waits[5] <= 0.1


@pytest.mark.redis
def test_redis_bucket_is_shared_by_every_instance_with_the_key(redis_bucket):
    url, key = redis_bucket
    first = TokenBucket(10, capacity=4, redis_url=url, key=key)
    second = TokenBucket(10, capacity=4, redis_url=url, key=key)
    other = TokenBucket(10, capacity=4, redis_url=url, key=key + "-other")

    takes = [first.try_acquire(), second.try_acquire(), first.try_acquire(), second.try_acquire()]
    assert takes == [0] * 4
    assert first.try_acquire() > 0 and second.try_acquire() > 0
    assert other.try_acquire() == 0  # another phone number has its own bucket


@pytest.mark.redis
def test_redis_bucket_paces_acquire_at_the_rate(redis_bucket):
    url, key = redis_bucket
    bucket = TokenBucket(20, capacity=2, redis_url=url, key=key)
    start = time.monotonic()

    for _ in range(8):  # 2 at once, then 6 at 20/s: about 0.3 s
        assert bucket.acquire(timeout=5)

    assert 0.25 <= time.monotonic() - start < 1.5


@pytest.mark.redis
def test_redis_bucket_is_atomic_across_threads(redis_bucket):
    url, key = redis_bucket
    bucket = TokenBucket(0.001, capacity=30, redis_url=url, key=key)
    granted: list[float] = []

    def worker() -> None:
        for _ in range(15):
            granted.append(bucket.try_acquire())

    threads = [threading.Thread(target=worker) for _ in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert sum(1 for wait in granted if wait == 0) == 30


# ---- reservations: one round trip per waiter, evenly spaced departures -------------------------


def test_waiters_reserve_their_turn_instead_of_racing(fake_clock):
    # Four callers arrive together at an empty bucket: each is told its own slot at once.
    bucket = TokenBucket(10, capacity=1, clock=fake_clock, sleep=fake_clock.sleep)
    bucket.acquire(timeout=0)
    backend = bucket._backend

    waits = [backend.reserve(1, 10) for _ in range(4)]

    assert waits == [pytest.approx(0.1), pytest.approx(0.2), pytest.approx(0.3), pytest.approx(0.4)]


def test_a_reservation_past_the_timeout_takes_nothing(fake_clock):
    bucket = TokenBucket(10, capacity=1, clock=fake_clock, sleep=fake_clock.sleep)
    backend = bucket._backend
    assert backend.reserve(1, 0) == 0
    assert backend.reserve(1, 0.15) == pytest.approx(0.1)

    assert backend.reserve(1, 0.15) is None  # would be 0.2 s: refused, and not counted
    assert backend.reserve(1, 0.25) == pytest.approx(0.2)


def test_acquire_from_many_threads_keeps_to_the_rate_on_the_real_clock():
    bucket = TokenBucket(50, capacity=5)
    departures: list[float] = []
    lock = threading.Lock()

    def worker() -> None:
        for _ in range(10):
            assert bucket.acquire(timeout=5)
            with lock:
                departures.append(time.monotonic())

    threads = [threading.Thread(target=worker) for _ in range(6)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    departures.sort()
    # 60 tokens: 5 at once, then 55 at 50/s, about 1.1 s; never more than 5 + 50 in a second.
    assert 1.0 <= departures[-1] - departures[0] < 2.5
    assert max(
        sum(1 for t in departures if start <= t < start + 1.0) for start in departures
    ) <= 55 + 1  # one of slack for the clock read after the sleep


@pytest.mark.redis
def test_redis_reservations_are_spaced_and_bounded(redis_bucket):
    url, key = redis_bucket
    bucket = TokenBucket(20, capacity=2, redis_url=url, key=key)
    backend = bucket._backend

    # The limit sits between two slots (0.45 and 0.5 s), away from either.
    waits = [backend.reserve(1, 0.475) for _ in range(14)]

    assert waits[:2] == [0, 0]
    taken = [w for w in waits[2:] if w is not None]
    assert len(taken) == 9  # 0.05 s apart, up to the limit
    assert all(b - a == pytest.approx(0.05, abs=0.01) for a, b in zip(taken, taken[1:]))
    assert waits[11:] == [None, None, None]
