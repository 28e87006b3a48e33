"""What one server process holds: settings, database engines, limiters and caches."""

from __future__ import annotations

import threading
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import Any, TypeVar

from sqlalchemy import Connection, Engine
from starlette.concurrency import run_in_threadpool

from server.config import Settings
from server.db.checkpoint import Checkpointer
from server.db.engine import is_sqlite, make_engine
from server.services.burst import BurstLimiter, make_burst_limiter

T = TypeVar("T")


@dataclass
class Kliqs:
    """The process-wide state of a running server, built once at start-up."""

    settings: Settings
    engine: Engine
    reader: Engine
    burst: BurstLimiter
    extras: dict[str, Any] = field(default_factory=dict)
    _local: threading.local = field(default_factory=threading.local)
    _kept: list[Connection] = field(default_factory=list)
    _checkpointer: Checkpointer | None = None

    @classmethod
    def build(cls, settings: Settings) -> Kliqs:
        """Engines and limiters for ``settings`` (no I/O beyond creating the data dir)."""
        return cls(
            settings=settings,
            engine=make_engine(settings),
            reader=make_engine(settings, writer=False),
            burst=make_burst_limiter(settings.burst_limit, settings.redis_url),
        )

    @property
    def own_hosts(self) -> frozenset[str]:
        """Hosts a destination may not point at (our own short links)."""
        hosts = {self.settings.public_host_name, self.settings.public_host_name.split(":")[0]}
        if self.settings.public_host:
            hosts.add(self.settings.public_host.lower())
        return frozenset(h for h in hosts if h)

    async def run(self, fn: Callable[..., T], *args: Any, **kwargs: Any) -> T:
        """Run blocking database work.

        SQLite has one writer at a time and answers in microseconds, so its work runs on
        the event loop (no thread hop); PostgreSQL work goes to the thread pool so one
        worker keeps several transactions in flight. Work must never await inside a
        transaction either way.
        """
        if is_sqlite(self.engine):
            return fn(*args, **kwargs)
        return await run_in_threadpool(fn, *args, **kwargs)

    @contextmanager
    def transaction(self) -> Iterator[Connection]:
        """One write transaction, committed at the end, rolled back on an exception.

        On SQLite each thread (in practice the event loop's) keeps its writer connection
        open between requests: checking one out of the pool and resetting it costs more
        than the statements of a typical request.
        """
        if not is_sqlite(self.engine):
            with self.engine.begin() as conn:
                yield conn
            return
        conn = getattr(self._local, "conn", None)
        if conn is None or conn.closed or conn.invalidated:
            conn = self._local.conn = self.engine.connect()
            self._kept.append(conn)
        with conn.begin():
            yield conn

    def start(self) -> None:
        """Start-up (ASGI lifespan): on a SQLite file, the WAL checkpoint thread, unless a
        click ingester runs beside the workers (``click_spool_dir``): it writes most and
        checkpoints for everyone, at a lower priority than the requests."""
        if self.settings.click_spool_dir is not None:
            return
        if is_sqlite(self.engine) and self.engine.url.database not in (None, "", ":memory:"):
            self._checkpointer = Checkpointer(self.engine)
            self._checkpointer.start()

    def dispose(self) -> None:
        """Stop the checkpoint thread; close every kept and pooled connection."""
        if self._checkpointer is not None:
            self._checkpointer.stop()
            self._checkpointer = None
        for conn in self._kept:
            conn.close()
        self._kept.clear()
        self.engine.dispose()
        self.reader.dispose()
