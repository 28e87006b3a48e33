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
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable
from time import monotonic

log = logging.getLogger("kliqs.public.changes")

STALE_AFTER = 60.0

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
        #: Bumped whenever codes were dropped: a lookup that started before may have read
        #: the old row, and must not be cached (see PublicSide.resolve).
        self.generation = 0
        self._read_at = monotonic()
        self._task: asyncio.Task[None] | None = None

    async def start(self) -> None:
        """Begin after the newest change (the cache is empty now), then follow."""
        try:
            self.seq = await self._last()
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
        """Read the changes since the last one seen and drop their codes."""
        rows = await self._read(self.seq)
        now = monotonic()
        if now - self._read_at > STALE_AFTER:
            log.warning("link change feed unread for %.0f s: emptying the redirect cache",
                        now - self._read_at)
            self._drop_all()
            self.generation += 1
        self._read_at = now
        if not rows:
            return
        for _seq, code in rows:
            self._drop(code.lower())
        self.seq = rows[-1][0]
        self.generation += 1

    async def stop(self) -> None:
        """Stop following."""
        task, self._task = self._task, None
        if task is not None:
            task.cancel()
            try:
                await task
            except asyncio.CancelledError:
                pass
