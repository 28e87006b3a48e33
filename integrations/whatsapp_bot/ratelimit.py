"""A token bucket that keeps sends under a phone number's throughput (80 messages/s by default).

Two backends behind one :class:`TokenBucket`: in-process (one worker) and Redis (every worker
of every machine shares one bucket per phone number id; the refill and take run in one Lua script
on Redis's own clock, so they are atomic and need no synchronised clocks).

:meth:`TokenBucket.acquire` *reserves*: one call takes the next token even if it is not there
yet (the bucket goes into debt, never further than ``timeout`` seconds of refill) and sleeps
until its turn. Many waiting workers then cost one round trip each and leave at evenly spaced
times, instead of all waking together to race for each new token.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
from typing import TYPE_CHECKING, Protocol

if TYPE_CHECKING:
    import redis

KEY_PREFIX = "kliqs:whatsapp:bucket:"
# Refill arithmetic leaves 0.9999999 tokens where one is due; without a tolerance a waiter would
# sleep for 1e-16 s, which a float clock near 1e3..1e9 cannot even add, and spin forever.
_EPSILON = 1e-9


class _Backend(Protocol):
    def take(self, tokens: float) -> float:
        """Take ``tokens`` and return 0, or take nothing and return the seconds to wait."""
        ...

    def reserve(self, tokens: float, max_wait: float) -> float | None:
        """Take ``tokens`` now, in debt if need be, and return the seconds until they are
        covered; None (nothing taken) when that is longer than ``max_wait``."""
        ...


class LocalBackend:
    """A thread-safe bucket in this process, on a monotonic clock."""

    def __init__(self, rate: float, capacity: float, clock: Callable[[], float]) -> None:
        self._rate = rate
        self._capacity = capacity
        self._clock = clock
        self._tokens = capacity
        self._updated = clock()
        self._lock = threading.Lock()

    def take(self, tokens: float) -> float:
        """Take ``tokens`` and return 0, or take nothing and return the seconds to wait."""
        with self._lock:
            now = self._clock()
            elapsed = max(0.0, now - self._updated)
            self._tokens = min(self._capacity, self._tokens + elapsed * self._rate)
            self._updated = now
            if self._tokens >= tokens - _EPSILON:
                self._tokens = max(0.0, self._tokens - tokens)
                return 0.0
            return (tokens - self._tokens) / self._rate

    def reserve(self, tokens: float, max_wait: float) -> float | None:
        """Take ``tokens`` in debt if need be; the wait until covered, or None past ``max_wait``."""
        with self._lock:
            now = self._clock()
            elapsed = max(0.0, now - self._updated)
            self._tokens = min(self._capacity, self._tokens + elapsed * self._rate)
            self._updated = now
            wait = max(0.0, (tokens - self._tokens) / self._rate)
            if wait <= _EPSILON:
                wait = 0.0
            if wait > max_wait + _EPSILON:
                return None
            self._tokens -= tokens
            return wait


# KEYS[1] bucket; ARGV rate, capacity, tokens wanted. Returns the wait in seconds as a string,
# because Redis turns Lua numbers into integers.
_LUA_TAKE = """
local rate = tonumber(ARGV[1])
local capacity = tonumber(ARGV[2])
local wanted = tonumber(ARGV[3])
local epsilon = 1e-6
local t = redis.call('TIME')
local now = tonumber(t[1]) + tonumber(t[2]) / 1000000
local state = redis.call('HMGET', KEYS[1], 'tokens', 'ts')
local tokens = tonumber(state[1])
local ts = tonumber(state[2])
if tokens == nil or ts == nil then
  tokens = capacity
  ts = now
end
tokens = math.min(capacity, tokens + math.max(0, now - ts) * rate)
local wait = 0
if tokens >= wanted - epsilon then
  tokens = math.max(0, tokens - wanted)
else
  wait = (wanted - tokens) / rate
end
redis.call('HSET', KEYS[1],
  'tokens', string.format('%.6f', tokens), 'ts', string.format('%.6f', now))
redis.call('PEXPIRE', KEYS[1], math.ceil(capacity / rate * 1000) + 1000)
return string.format('%.6f', wait)
"""


# KEYS[1] bucket; ARGV rate, capacity, tokens wanted, longest wait. Returns "<wait>" when the
# tokens were taken (the balance may go negative: a reservation), "-1" when the wait is too long.
_LUA_RESERVE = """
local rate = tonumber(ARGV[1])
local capacity = tonumber(ARGV[2])
local wanted = tonumber(ARGV[3])
local max_wait = tonumber(ARGV[4])
local t = redis.call('TIME')
local now = tonumber(t[1]) + tonumber(t[2]) / 1000000
local state = redis.call('HMGET', KEYS[1], 'tokens', 'ts')
local tokens = tonumber(state[1])
local ts = tonumber(state[2])
if tokens == nil or ts == nil then
  tokens = capacity
  ts = now
end
tokens = math.min(capacity, tokens + math.max(0, now - ts) * rate)
local wait = math.max(0, (wanted - tokens) / rate)
if wait < 1e-6 then wait = 0 end
local answer = '-1'
if wait <= max_wait + 1e-6 then
  tokens = tokens - wanted
  answer = string.format('%.6f', wait)
end
redis.call('HSET', KEYS[1],
  'tokens', string.format('%.6f', tokens), 'ts', string.format('%.6f', now))
redis.call('PEXPIRE', KEYS[1], math.ceil((capacity - tokens) / rate * 1000) + 1000)
return answer
"""


class RedisBackend:
    """A bucket in Redis shared by all workers, keyed by ``key`` (the phone number id)."""

    def __init__(self, client: redis.Redis, key: str, rate: float, capacity: float) -> None:
        self._key = KEY_PREFIX + key
        self._rate = rate
        self._capacity = capacity
        self._script = client.register_script(_LUA_TAKE)
        self._reserve = client.register_script(_LUA_RESERVE)

    def take(self, tokens: float) -> float:
        """Take ``tokens`` and return 0, or take nothing and return the seconds to wait."""
        answer = self._script(keys=[self._key], args=[self._rate, self._capacity, tokens])
        return float(answer.decode() if isinstance(answer, bytes) else answer)

    def reserve(self, tokens: float, max_wait: float) -> float | None:
        """Take ``tokens`` in debt if need be; the wait until covered, or None past ``max_wait``."""
        args = [self._rate, self._capacity, tokens, min(max_wait, 1e9)]
        answer = self._reserve(keys=[self._key], args=args)
        wait = float(answer.decode() if isinstance(answer, bytes) else answer)
        return None if wait < 0 else wait


class TokenBucket:
    """Allows ``rate_per_second`` on average with bursts up to ``capacity`` (default: one second's).

    With ``redis_url`` (or an injected ``redis_client``) the bucket lives in Redis under ``key``;
    otherwise in this process. ``clock`` and ``sleep`` are injectable so tests need not wait.
    """

    def __init__(
        self,
        rate_per_second: float,
        capacity: float | None = None,
        *,
        redis_url: str | None = None,
        redis_client: redis.Redis | None = None,
        key: str = "default",
        clock: Callable[[], float] = time.monotonic,
        sleep: Callable[[float], None] = time.sleep,
    ) -> None:
        if rate_per_second <= 0:
            raise ValueError("rate_per_second must be positive")
        capacity = float(rate_per_second if capacity is None else capacity)
        if capacity < 1:
            raise ValueError("capacity must be at least 1")
        self.rate_per_second = float(rate_per_second)
        self.capacity = capacity
        self._clock = clock
        self._sleep = sleep
        self._backend = self._make_backend(redis_url, redis_client, key)

    def _make_backend(
        self, redis_url: str | None, redis_client: redis.Redis | None, key: str
    ) -> _Backend:
        if redis_client is None and redis_url:
            import redis as redis_lib  # only when a Redis bucket is wanted

            redis_client = redis_lib.Redis.from_url(redis_url)
        if redis_client is not None:
            return RedisBackend(redis_client, key, self.rate_per_second, self.capacity)
        return LocalBackend(self.rate_per_second, self.capacity, self._clock)

    def try_acquire(self, tokens: float = 1) -> float:
        """Take ``tokens`` now and return 0, or return how long to wait before trying again."""
        if tokens > self.capacity:
            raise ValueError(f"cannot take {tokens} tokens from a bucket of {self.capacity}")
        return self._backend.take(tokens)

    def acquire(self, timeout: float | None = None) -> bool:
        """Wait for one token; False (and nothing taken) if it cannot come within ``timeout``
        seconds (None: wait as long as needed). The token is reserved first, then waited for."""
        wait = self._backend.reserve(1, float("inf") if timeout is None else timeout)
        if wait is None:
            return False
        if wait > 0:
            self._sleep(wait)
        return True
