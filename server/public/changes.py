"""Following the link change feed, so a worker's redirect cache never serves an old answer.

Database triggers add a row to ``link_changes`` for every change of a link or Bio Page
(migration 0004). Each worker reads the rows after the last one it saw every
``link_cache_ttl`` seconds and drops their codes from its cache: an edited, expired-by-hand,
password-protected or deleted link stops redirecting everywhere within that bound (plus the
0.1 s SQLite read snapshot). Entries need no expiry of their own, so under steady traffic
the cache is not re-read from the database every few seconds.

A worker that could not read the feed for :data:`STALE_AFTER` seconds (database away,
process suspended) empties its cache on the next successful read: it may have missed rows
the triggers have trimmed since.

Row numbers are handed out when a trigger inserts, not at commit: on PostgreSQL two edits
in overlapping transactions can commit out of order, and a number below the newest one seen
may still be on its way. Such a hole is remembered and read again at every poll until its row
arrives or :data:`GAP_WAIT` seconds pass (the transaction rolled back, or it takes longer
than any request may).
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable
from time import monotonic

log = logging.getLogger("kliqs.public.changes")

STALE_AFTER = 60.0
GAP_WAIT = 30.0
_GAPS_MAX = 10_000  # holes remembered at most (a burst of rollbacks must not grow this)

Changes = list[tuple[int, str]]


class ChangeFeed:
    """Reads the feed every ``interval`` seconds and calls ``drop(code)`` for each change."""

    def __init__(
        self,
        read: Callable[[int], Awaitable[Changes]],
        last: Callable[[], Awaitable[int]],
        drop: Callable[[str], None],
        drop_all: Callable[[], None],
        interval: float,
    ) -> None:
        self._read = read
        self._last = last
        self._drop = drop
        self._drop_all = drop_all
        self.interval = interval
        self.seq = 0
        self._gaps: dict[int, float] = {}  # row numbers not seen yet -> when first missed
        # Whether ``seq`` is a row number read from the feed (holes above it are real), not
        # the 0 of a start that could not read it (rows below the first seen are history).
        self._baseline = False
        #: Bumped whenever codes were dropped: a lookup that started before may have read
        #: the old row, and must not be cached (see PublicSide.resolve).
        self.generation = 0
        self._read_at = monotonic()
        self._task: asyncio.Task[None] | None = None

    async def start(self) -> None:
        """Begin after the newest change (the cache is empty now), then follow."""
        try:
            self.seq = await self._last()
            self._baseline = True
        except Exception:
            log.exception("the link change feed could not be read at start-up")
        self._read_at = monotonic()
        self._task = asyncio.get_running_loop().create_task(self._follow())

    async def _follow(self) -> None:
        while True:
            await asyncio.sleep(self.interval)
            try:
                await self.poll()
            except Exception:
                log.exception("reading the link change feed failed; retrying")

    async def poll(self) -> None:
        """Read the changes since the last one seen (and in the holes before it) and drop
        their codes."""
        floor = min(self._gaps, default=self.seq + 1) - 1
        rows = await self._read(floor)
        now = monotonic()
        if now - self._read_at > STALE_AFTER:
            log.warning("link change feed unread for %.0f s: emptying the redirect cache",
                        now - self._read_at)
            self._drop_all()
            self.generation += 1
        self._read_at = now
        dropped = False
        for seq, code in rows:
            if seq > self.seq:
                if self._baseline:
                    self._note_gaps(self.seq + 1, seq, now)
                self.seq = seq
                self._baseline = True
            elif self._gaps.pop(seq, None) is None:
                continue  # seen at an earlier poll
            self._drop(code.lower())
            dropped = True
        self._gaps = {n: t for n, t in self._gaps.items() if now - t < GAP_WAIT}
        if dropped:
            self.generation += 1

    def _note_gaps(self, first: int, end: int, now: float) -> None:
        """Remember the numbers ``first`` .. ``end - 1`` as not seen yet."""
        for missing in range(max(first, end - _GAPS_MAX), end):
            self._gaps[missing] = now
        while len(self._gaps) > _GAPS_MAX:
            del self._gaps[min(self._gaps)]

    async def stop(self) -> None:
        """Stop following."""
        task, self._task = self._task, None
        if task is not None:
            task.cancel()
            try:
                await task
            except asyncio.CancelledError:
                pass
