"""The caches of resolved codes, one set per worker process.

:class:`CodeCache` holds what codes resolve to until the change feed says otherwise
(:mod:`server.public.changes`); :class:`TtlLru` holds unknown codes for a moment, so a flood
of made-up codes does not read the database at every request.
"""

from __future__ import annotations

from collections import OrderedDict
from collections.abc import Callable
from itertools import islice
from time import monotonic
from typing import Generic, TypeVar

V = TypeVar("V")


class TtlLru(Generic[V]):
    """Least-recently-used entries, each fresh until its own deadline.

    Used only from the event loop thread, so it takes no lock. A stale entry is not removed
    on read: the caller's fresh value replaces it, and the LRU order drops the rest.
    """

    def __init__(self, size: int, clock: Callable[[], float] = monotonic) -> None:
        self.size = size
        self._clock = clock
        self.data: OrderedDict[str, tuple[float, V]] = OrderedDict()

    def get(self, key: str) -> V | None:
        """The fresh value of ``key``, or ``None``."""
        entry = self.data.get(key)
        if entry is None or entry[0] <= self._clock():
            return None
        self.data.move_to_end(key)
        return entry[1]

    def put(self, key: str, value: V, ttl: float) -> None:
        """Keep ``value`` for ``ttl`` seconds (nothing is kept when ``ttl`` is 0).

        Expired entries at the cold end are dropped on the way, so memory follows the codes
        used within the last TTL rather than the size bound.
        """
        data = self.data
        if ttl <= 0:
            data.pop(key, None)
            return
        now = self._clock()
        data[key] = (now + ttl, value)
        data.move_to_end(key)
        for _ in range(2):  # amortised: at most two drops per insert
            oldest = next(iter(data))
            if data[oldest][0] > now and len(data) <= self.size:
                break
            del data[oldest]

    def discard(self, key: str) -> None:
        """Forget ``key`` now (a local edit)."""
        self.data.pop(key, None)

    def __len__(self) -> int:
        return len(self.data)


class CodeCache(Generic[V]):
    """Resolved codes, kept until discarded; at most ``size`` of them.

    A plain dict: a hit is one lookup, and an entry costs no more than its key and value.
    When full, the oldest eighth is dropped in one go (insertion order), which keeps the
    codes used since the cache last filled. Used only from the event loop thread.
    """

    def __init__(self, size: int) -> None:
        self.size = size
        self.data: dict[str, V] = {}
        self.get = self.data.get

    def put(self, key: str, value: V) -> None:
        """Keep ``value`` for ``key``."""
        data = self.data
        if len(data) >= self.size and key not in data:
            for old in list(islice(data, max(1, self.size // 8))):
                del data[old]
        data[key] = value

    def discard(self, key: str) -> None:
        """Forget ``key`` (its link or Bio Page changed)."""
        self.data.pop(key, None)

    def clear(self) -> None:
        """Forget everything (the change feed could not be followed)."""
        self.data.clear()

    def __len__(self) -> int:
        return len(self.data)
