"""Click recording off the critical path: a memory buffer written in batches by a thread.

The redirect appends one small tuple (link id, time, the request's header list, the peer)
to a deque; everything else (header lookup, user-agent parsing, hashing, SQL) happens in
the ``kliqs-clicks`` thread on its own database connection, every ``click_flush_interval``
seconds. One transaction inserts a batch's rows and adds their counts to ``links.clicks``,
so the two never disagree. The buffer is flushed when the server stops (ASGI lifespan
shutdown, which uvicorn runs on SIGTERM/SIGINT) and at interpreter exit.

What a hard kill (SIGKILL, power loss) can lose: the clicks of the last flush interval
(0.5 s by default) plus the batch being written, never more than ``click_buffer_max``.
"""

from __future__ import annotations

import atexit
import logging
import threading
import time
from collections import deque
from collections.abc import Callable, Iterable
from datetime import datetime
from typing import Any

from sqlalchemy import Engine
from sqlalchemy.exc import IntegrityError, SQLAlchemyError

from server.config import Settings
from server.public import clickstore, visitors
from server.public.clickstore import Row

log = logging.getLogger("kliqs.public.clicks")

# (link id, time, ASGI header list, ASGI client) - built on the redirect path.
RawClick = tuple[str, datetime, list[tuple[bytes, bytes]], Any]

# Rows described between two GIL hand-overs. Whenever the event loop releases the GIL (a
# SQLite read, a socket call) this thread may take it, and the loop then waits until it is
# given back: small chunks keep that wait to a fraction of a millisecond, not the 5 ms
# switch interval.
_CHUNK = 64


class ClickRecorder:
    """Buffers clicks and writes them in batches from a background thread."""

    def __init__(
        self,
        settings: Settings,
        make_engine: Callable[[], Engine],
        load_secret: Callable[[Engine], bytes],
    ) -> None:
        self._interval = settings.click_flush_interval
        self._batch = settings.click_batch_size
        self._max = settings.click_buffer_max
        self._country = (settings.country_header or "").lower().encode() or None
        self._ip = (settings.client_ip_header or "").lower().encode() or None
        self._wanted = frozenset(n for n in (b"user-agent", b"referer", self._country, self._ip)
                                 if n)
        self._make_engine = make_engine
        self._load_secret = load_secret
        self._engine: Engine | None = None
        self._hasher: visitors.VisitorHasher | None = None
        self._buffer: deque[RawClick] = deque()
        self._retry: list[Row] = []
        self._flush_lock = threading.Lock()
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None
        self.written = 0
        self.dropped = 0

    def add(self, link_id: str, ts: datetime, headers: list[tuple[bytes, bytes]], client: Any
            ) -> None:
        """Queue one click (the redirect path: an append, nothing else)."""
        if len(self._buffer) >= self._max:
            self.dropped += 1
            if self.dropped % 10_000 == 1:
                log.warning("click buffer full (%d): %d clicks dropped", self._max, self.dropped)
            return
        self._buffer.append((link_id, ts, headers, client))
        if self._thread is None:
            self.start()

    def pending(self) -> int:
        """Clicks queued or waiting for a retry, not yet stored."""
        return len(self._buffer) + len(self._retry)

    def start(self) -> None:
        """Start the flusher thread (idempotent)."""
        if self._thread is not None:
            return
        self._thread = threading.Thread(target=self._run, name="kliqs-clicks", daemon=True)
        self._thread.start()
        atexit.register(self.close)

    def _run(self) -> None:
        while not self._stop.wait(self._interval):
            try:
                self.flush()
            except Exception:  # the thread must outlive any one bad batch
                log.exception("click flush failed")

    def close(self) -> None:
        """Stop the thread and store everything still buffered."""
        atexit.unregister(self.close)
        self._stop.set()
        thread = self._thread
        if thread is not None and thread is not threading.current_thread():
            thread.join(30)
        self.flush()
        if self.pending():
            log.error("%d clicks could not be stored at shut-down", self.pending())
        if self._engine is not None:
            self._engine.dispose()

    def flush(self) -> int:
        """Store what is buffered now, in batches; returns the clicks stored."""
        stored = 0
        with self._flush_lock:
            if not self._retry and not self._buffer:
                return 0
            try:
                hasher = self._visitor_hasher()
            except SQLAlchemyError:
                log.exception("no database for clicks; %d waiting", self.pending())
                return 0
            while True:
                rows = self._retry or self._rows(self._take(), hasher)
                self._retry = []
                if not rows:
                    return stored
                try:
                    self._write(rows)
                except SQLAlchemyError:
                    log.exception("storing %d clicks failed; retrying later", len(rows))
                    self._retry = rows
                    return stored
                stored += len(rows)
                self.written += len(rows)

    def _take(self) -> list[RawClick]:
        taken: list[RawClick] = []
        popleft = self._buffer.popleft
        try:
            for _ in range(self._batch):
                taken.append(popleft())
        except IndexError:
            pass
        return taken

    def _db(self) -> Engine:
        if self._engine is None:
            self._engine = self._make_engine()
        return self._engine

    def _visitor_hasher(self) -> visitors.VisitorHasher:
        if self._hasher is None:
            self._hasher = visitors.VisitorHasher(self._load_secret(self._db()))
        return self._hasher

    def _rows(self, raws: list[RawClick], hasher: visitors.VisitorHasher) -> list[Row]:
        text_ts = self._db().dialect.name == "sqlite"
        rows = []
        for start in range(0, len(raws), _CHUNK):
            if start:
                time.sleep(0)  # let the event loop take the GIL between chunks
            rows.extend(self._safe_row(raw, hasher, text_ts) for raw in raws[start:start + _CHUNK])
        return rows

    def _safe_row(self, raw: RawClick, hasher: visitors.VisitorHasher, text_ts: bool) -> Row:
        try:
            return self._row(raw, hasher, text_ts)
        except Exception:  # a click is still a click when its headers are odd
            log.exception("could not describe a click")
            return (raw[0], _timestamp(raw[1], text_ts), None, None, None, "other", False, None,
                    None)

    def _row(self, raw: RawClick, hasher: visitors.VisitorHasher, text_ts: bool) -> Row:
        link_id, ts, headers, client = raw
        found = _pick(headers, self._wanted)
        agent_text = found.get(b"user-agent", "")
        agent = visitors.classify(agent_text)
        ip = visitors.client_ip(found.get(self._ip) if self._ip else None,
                                client[0] if client else None)
        return (
            link_id,
            _timestamp(ts, text_ts),
            visitors.referrer_host(found.get(b"referer")),
            agent.browser,
            agent.os,
            agent.device,
            agent.is_bot,
            visitors.country(found.get(self._country)) if self._country else None,
            hasher.daily(ts.date(), ip, agent_text),
        )

    def _write(self, rows: list[Row]) -> None:
        try:
            clickstore.store(self._db(), rows)
        except IntegrityError:
            # A link was removed for good (account deleted) while its clicks waited.
            rows = clickstore.existing(self._db(), rows)
            if rows:
                clickstore.store(self._db(), rows)


def _timestamp(ts: datetime, text: bool) -> Any:
    """Naive UTC, as ``UTCDateTime`` stores it; on SQLite in SQLAlchemy's text format."""
    offset = ts.utcoffset()  # server.clock gives UTC: zero, so no arithmetic
    naive = ts.replace(tzinfo=None) - offset if offset else ts.replace(tzinfo=None)
    return naive.isoformat(" ", "microseconds") if text else naive


def _pick(headers: Iterable[tuple[bytes, bytes]], wanted: frozenset[bytes]) -> dict[bytes, str]:
    return {name: value.decode("latin-1") for name, value in headers if name in wanted}
