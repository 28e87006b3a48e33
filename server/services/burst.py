"""The per-key burst limit (``RATE_LIMITED``): a token bucket per key.

In one process the buckets live in memory; with ``KLIQS_REDIS_URL`` every worker shares a
fixed one-second window in Redis, so the limit holds across processes.
"""

from __future__ import annotations

import threading
import time
from collections import OrderedDict
from typing import Protocol


class BurstLimiter(Protocol):
    """Decides whether one more request of ``key_id`` may pass now."""

    def allow(self, key_id: str) -> bool: ...


class MemoryBurstLimiter:
    """Token buckets of ``rate`` tokens per second and ``rate`` capacity, bounded in number."""

    def __init__(self, rate: int, *, max_keys: int = 100_000) -> None:
        self._rate = float(rate)
        self._max_keys = max_keys
        self._buckets: OrderedDict[str, tuple[float, float]] = OrderedDict()
        self._lock = threading.Lock()

    def allow(self, key_id: str) -> bool:
        now = time.monotonic()
        with self._lock:
            tokens, stamp = self._buckets.pop(key_id, (self._rate, now))
            tokens = min(self._rate, tokens + (now - stamp) * self._rate)
            allowed = tokens >= 1.0
            self._buckets[key_id] = (tokens - 1.0 if allowed else tokens, now)
            if len(self._buckets) > self._max_keys:
                self._buckets.popitem(last=False)
            return allowed


class RedisBurstLimiter:
    """A one-second fixed window per key in Redis, shared by every worker."""

    def __init__(self, url: str, rate: int) -> None:
        import redis

        self._redis = redis.Redis.from_url(url)
        self._rate = rate

    def allow(self, key_id: str) -> bool:
        window = int(time.time())
        name = f"kliqs:burst:{key_id}:{window}"
        pipe = self._redis.pipeline()
        pipe.incr(name)
        pipe.expire(name, 2)
        count, _ = pipe.execute()
        return int(count) <= self._rate


def make_burst_limiter(rate: int, redis_url: str | None) -> BurstLimiter:
    """The shared Redis limiter when Redis is configured, else an in-process one."""
    if redis_url:
        return RedisBurstLimiter(redis_url, rate)
    return MemoryBurstLimiter(rate)
