"""What the public side holds in one worker: cache, lookups, click buffer, pages, secrets."""

from __future__ import annotations

import gc
import logging
import re

from server.db.engine import make_engine
from server.public.cache import CodeCache, TtlLru
from server.public.changes import ChangeFeed
from server.public.clicks import ClickRecorder
from server.public.gate import Gate
from server.public.pages import Pages
from server.public.qr import QrCache
from server.public.secret import load_secret
from server.public.targets import NOT_FOUND, SqliteStore, Target, make_store
from server.public.visitors import VisitorHasher
from server.state import Kliqs

log = logging.getLogger("kliqs.public")

# Codes and handles: 3-64 of a-z 0-9 - _, letter or digit at both ends (already lower-cased).
CODE_RE = re.compile(r"[a-z0-9][a-z0-9_-]{1,62}[a-z0-9]")
# Unknown codes remembered at most (each for link_negative_cache_ttl).
_UNKNOWN_MAX = 10_000


class PublicSide:
    """The public side's state; ``changed(code)`` drops a code from this worker's cache.

    Resolved codes stay cached until the link change feed names them
    (:mod:`server.public.changes`): an edited or deleted link stops redirecting in every
    worker within ``link_cache_ttl`` (0.5 s by default) plus 0.1 s of SQLite read snapshot,
    and at once in the worker that made the change. Unknown codes are remembered for
    ``link_negative_cache_ttl`` only, so a new link redirects on its first click. Expiry
    needs no invalidation: it is checked at every hit. ``link_cache_ttl`` 0 turns the cache
    off.
    """

    def __init__(self, kliqs: Kliqs) -> None:
        settings = kliqs.settings
        self.kliqs = kliqs
        self.settings = settings
        self.base_url = settings.public_base_url
        self.cache: CodeCache[Target] = CodeCache(settings.link_cache_size)
        self.unknown: TtlLru[Target] = TtlLru(min(settings.link_cache_size, _UNKNOWN_MAX))
        self.caching = settings.link_cache_ttl > 0
        self.negative_ttl = min(settings.link_negative_cache_ttl, settings.link_cache_ttl)
        self.reserved = settings.all_reserved_slugs
        self.store = make_store(kliqs.reader)
        self.feed = ChangeFeed(self.store.changes_since, self.store.last_change, self.forget,
                               self.cache.clear, settings.link_cache_ttl or 1.0)
        # SQLite answers a lookup in microseconds: the layer may call resolve_now inline.
        self.sync_lookups = isinstance(self.store, SqliteStore)
        self.recorder = (
            ClickRecorder(settings, lambda: make_engine(settings),
                          lambda engine: load_secret(engine, settings.secret_key))
            if settings.click_recording else None
        )
        self.pages = Pages(f"{self.base_url}/")
        self.qr = QrCache(settings.qr_cache_size)
        self.gate: Gate | None = None
        self.hasher: VisitorHasher | None = None

    def forget(self, code: str) -> None:
        """Drop a lower-case code from this worker's caches."""
        self.cache.discard(code)
        self.unknown.discard(code)

    def changed(self, code: str) -> None:
        """A link or Bio Page changed in this worker: forget its cached target now."""
        self.forget(code.lower())
        self.store.refresh()

    def cached(self, key: str) -> Target | None:
        """What ``key`` resolves to, if this worker knows it already."""
        return self.cache.get(key) or self.unknown.get(key)

    async def resolve(self, key: str) -> Target:
        """The target of a lower-case ``key`` from the database, cached for next time."""
        if not CODE_RE.fullmatch(key):
            return NOT_FOUND
        generation = self.feed.generation
        target = await self.store.resolve(key)
        if generation == self.feed.generation:  # else the row read may be older than a change
            self._keep(key, target)
        return target

    def resolve_now(self, key: str) -> Target:
        """:meth:`resolve` without a coroutine, for stores that answer synchronously."""
        known = self.unknown.get(key)
        if known is not None:
            return known
        if not CODE_RE.fullmatch(key):
            return NOT_FOUND
        assert isinstance(self.store, SqliteStore)
        target = self.store.lookup(key)
        self._keep(key, target)
        return target

    def _keep(self, key: str, target: Target) -> None:
        if not self.caching:
            return
        if target is NOT_FOUND:
            self.unknown.put(key, target, self.negative_ttl)
        else:
            self.cache.put(key, target)

    async def ensure_secret(self) -> None:
        """Load (or make) the server secret once, then build what needs it."""
        if self.gate is not None:
            return
        secret = await self.kliqs.run(load_secret, self.kliqs.engine, self.settings.secret_key)
        self.hasher = VisitorHasher(secret)
        self.gate = Gate(self.settings, secret)

    async def start(self) -> None:
        """Start-up (ASGI lifespan): secret and click thread; a database hiccup is not fatal."""
        try:
            await self.ensure_secret()
        except Exception:
            log.exception("server secret not loaded at start-up; retrying on first use")
        if self.recorder is not None:
            if self.hasher is not None:
                self.recorder.use_hasher(self.hasher)
            self.recorder.start()
        if self.caching:
            await self.feed.start()
        # Everything imported and built so far lives as long as the process: moved out of
        # the collector's sight, full collections under load take milliseconds, not the
        # hundreds of milliseconds that stall every request in flight.
        gc.collect()
        gc.freeze()

    async def stop(self) -> None:
        """Shut-down, on the event loop: end the click pump (then :meth:`close`)."""
        await self.feed.stop()
        if self.recorder is not None:
            await self.recorder.stop_pump()

    def close(self) -> None:
        """Shut-down: store every buffered click, release the lookup connection."""
        if self.recorder is not None:
            self.recorder.close()
        self.store.close()
