"""Click recording off the critical path: a memory buffer handed on in batches.

The redirect appends one small tuple (link id, POSIX time, the request's header list, the
peer) to a deque. Every ``click_flush_interval`` seconds what is buffered is described
(:data:`Visit`: the headers the statistics need and a salted daily visitor hash instead of
the IP) and handed on in batches of ``click_batch_size``:

- under ``kliqs serve`` (``click_spool_dir`` set): to the click spool, one file per batch,
  which the click ingester process (:mod:`server.public.ingest`) parses and stores. The
  describing then runs on the event loop itself, in slices between requests
  (:meth:`ClickRecorder.pump`): a thread here would hold the GIL whenever the loop lets go
  of it for a socket call, and the loop would wait up to the interpreter's 5 ms switch
  interval to get it back;
- otherwise (an app built in-process, as the unit tests do): straight to the database from
  the ``kliqs-clicks`` thread, rows and ``links.clicks`` in one transaction.

The buffer is handed on when the server stops (ASGI lifespan shutdown, which uvicorn runs on
SIGTERM/SIGINT) and at interpreter exit. What a hard kill (SIGKILL, power loss) of a worker
can lose: the clicks of the last flush interval (0.2 s by default), never more than
``click_buffer_max``. A spool file, once written, survives any crash of either process.
"""

from __future__ import annotations

import asyncio
import atexit
import json
import logging
import threading
import time
from collections import deque
from collections.abc import Callable, Iterable
from datetime import UTC, date, datetime
from typing import Any

from sqlalchemy import Engine
from sqlalchemy.exc import IntegrityError, SQLAlchemyError

from server.config import Settings
from server.public import clickstore, visitors
from server.public.clickstore import Row
from server.public.spool import Spool

log = logging.getLogger("kliqs.public.clicks")

# (link id, POSIX time, ASGI header list, ASGI client) - built on the redirect path.
RawClick = tuple[str, float, list[tuple[bytes, bytes]], Any]
# (link id, POSIX time, user agent, referer, country header, visitor hash): a click as the
# spool carries it; no raw IP.
Visit = tuple[str, float, str, "str | None", "str | None", str]
Sink = Callable[[list[Visit]], None]

# Clicks described between two GIL hand-overs. Whenever the event loop releases the GIL (a
# SQLite read, a socket call) this thread may take it, and the loop then waits until it is
# given back: small chunks keep that wait to a fraction of a millisecond, not the 5 ms
# switch interval.
_CHUNK = 64
_DAY = 86_400


class ClickRecorder:
    """Buffers clicks and hands them on in batches (the event loop's pump, or a thread)."""

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
        self._day: tuple[int, date] = (-1, date.min)
        self._spool = Spool(settings.click_spool_dir) if settings.click_spool_dir else None
        self._sink: Sink = self._spool.write if self._spool else self._store
        self._on_loop = self._spool is not None
        # The pump's encoded slices not yet in a spool file, and how many clicks they hold.
        self._parts: list[str] = []
        self._parts_count = 0
        self._pump: asyncio.Task[None] | None = None
        self._buffer: deque[RawClick] = deque()
        self._retry: list[Visit] = []
        self._flush_lock = threading.Lock()
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None
        self.written = 0
        self.dropped = 0

    def add(self, link_id: str, ts: float, headers: list[tuple[bytes, bytes]], client: Any
            ) -> None:
        """Queue one click (the redirect path: an append, nothing else)."""
        if len(self._buffer) >= self._max:
            self.dropped += 1
            if self.dropped % 10_000 == 1:
                log.warning("click buffer full (%d): %d clicks dropped", self._max, self.dropped)
            return
        self._buffer.append((link_id, ts, headers, client))
        if self._thread is None and self._pump is None:
            self.start()

    def pending(self) -> int:
        """Clicks queued or waiting for a retry, not yet handed on."""
        return len(self._buffer) + len(self._retry) + self._parts_count

    def start(self) -> None:
        """Start handing clicks on (idempotent): a task on the running event loop when
        they go to the spool, else the flusher thread."""
        if self._thread is not None or self._pump is not None:
            return
        if self._on_loop:
            try:
                self._pump = asyncio.get_running_loop().create_task(self.pump())
            except RuntimeError:
                pass  # no loop here: the thread does it
            else:
                atexit.register(self.close)
                return
        self._thread = threading.Thread(target=self._run, name="kliqs-clicks", daemon=True)
        self._thread.start()
        atexit.register(self.close)

    async def pump(self) -> None:
        """Every flush interval, describe and spool what is buffered, a slice at a time."""
        while not self._stop.is_set():
            await asyncio.sleep(self._interval)
            try:
                await self._spool_buffered()
            except Exception:
                log.exception("click flush failed")

    async def _spool_buffered(self) -> None:
        hasher = self._visitor_hasher()  # given at start-up (PublicSide.start)
        with self._flush_lock:
            while (self._buffer or self._parts) and not self._stop.is_set():
                if not self._parts:
                    await self._encode_slices(hasher)
                if not self._spool_parts():
                    return

    async def _encode_slices(self, hasher: visitors.VisitorHasher) -> None:
        """Describe and JSON-encode up to a batch into ``_parts``, a slice at a time, letting
        waiting requests go first between slices (one big encode would stall them)."""
        for _slice in range(self._batch // _CHUNK + 1):
            raws = self._take(_CHUNK)
            if raws:
                encoded = json.dumps([self._visit(raw, hasher) for raw in raws],
                                     separators=(",", ":"))
                self._parts.append(encoded[1:-1])
                self._parts_count += len(raws)
            if len(raws) < _CHUNK:
                return
            await asyncio.sleep(0)

    def _spool_parts(self) -> bool:
        """Write the encoded slices as one spool file; on failure keep them for later."""
        assert self._spool is not None
        try:
            self._spool.write_encoded(self._parts)
        except OSError:
            log.exception("spooling %d clicks failed; retrying later", self._parts_count)
            return False
        self.written += self._parts_count
        self._parts, self._parts_count = [], 0
        return True

    def use_hasher(self, hasher: visitors.VisitorHasher) -> None:
        """The visitor hasher built at start-up (spares loading the secret again)."""
        if self._hasher is None:
            self._hasher = hasher

    async def stop_pump(self) -> None:
        """End the pump (before :meth:`close`): slices it encoded already stay in
        ``_parts``, and :meth:`close` writes them with the rest of the buffer."""
        pump, self._pump = self._pump, None
        if pump is None:
            return
        self._stop.set()
        pump.cancel()
        try:
            await pump
        except asyncio.CancelledError:
            pass

    def _run(self) -> None:
        while not self._stop.wait(self._interval):
            try:
                self.flush()
            except Exception:  # the thread must outlive any one bad batch
                log.exception("click flush failed")

    def close(self) -> None:
        """Stop the thread and hand on everything still buffered."""
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
        """Hand on what is buffered now, in batches; returns the clicks handed on."""
        done = 0
        with self._flush_lock:
            if self._parts and not self._spool_parts():
                return 0
            if not self._retry and not self._buffer:
                return 0
            try:
                hasher = self._visitor_hasher()
            except SQLAlchemyError:
                log.exception("no database for clicks; %d waiting", self.pending())
                return 0
            while True:
                visits = self._retry or self._describe(self._take(self._batch), hasher)
                self._retry = []
                if not visits or not self._hand_on(visits):
                    return done
                done += len(visits)

    def _hand_on(self, visits: list[Visit]) -> bool:
        """Give ``visits`` to the sink; on failure keep them for the next flush."""
        if not visits:
            return True
        try:
            self._sink(visits)
        except (SQLAlchemyError, OSError):
            log.exception("storing %d clicks failed; retrying later", len(visits))
            self._retry = visits
            return False
        self.written += len(visits)
        return True

    def _take(self, count: int) -> list[RawClick]:
        taken: list[RawClick] = []
        popleft = self._buffer.popleft
        try:
            for _ in range(count):
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

    def _describe(self, raws: list[RawClick], hasher: visitors.VisitorHasher) -> list[Visit]:
        visits = []
        for start in range(0, len(raws), _CHUNK):
            if start:
                time.sleep(0)  # let the event loop take the GIL between chunks
            visits.extend(self._visit(raw, hasher) for raw in raws[start:start + _CHUNK])
        return visits

    def _visit(self, raw: RawClick, hasher: visitors.VisitorHasher) -> Visit:
        link_id, ts, headers, client = raw
        found = _pick(headers, self._wanted)
        agent = found.get(b"user-agent", "")
        ip = visitors.client_ip(found.get(self._ip) if self._ip else None,
                                client[0] if client else None)
        return (link_id, ts, agent, found.get(b"referer"),
                found.get(self._country) if self._country else None,
                hasher.daily(self._date(ts), ip, agent))

    def _date(self, ts: float) -> date:
        """The UTC day of ``ts`` (remembered: a batch rarely spans midnight)."""
        day = int(ts // _DAY)
        if day != self._day[0]:
            self._day = (day, datetime.fromtimestamp(day * _DAY, UTC).date())
        return self._day[1]

    def _store(self, visits: list[Visit]) -> None:
        store_visits(self._db(), visits)


def store_visits(engine: Engine, visits: list[Visit], batches: list[str] | None = None
                 ) -> None:
    """Describe ``visits`` as rows (user agent, referrer, country) and store them, with the
    spool ``batches`` they came from; clicks of links removed for good meanwhile (account
    deleted) are left out."""
    text_ts = engine.dialect.name == "sqlite"
    rows = [_safe_row(visit, text_ts) for visit in visits]
    try:
        clickstore.store(engine, rows, batches)
    except IntegrityError:
        clickstore.store(engine, clickstore.existing(engine, rows), batches)


def _safe_row(visit: Visit, text_ts: bool) -> Row:
    try:
        return _row(visit, text_ts)
    except Exception:  # a click is still a click when its headers are odd
        log.exception("could not describe a click")
        return (visit[0], _timestamp(visit[1], text_ts), None, None, None, "other", False, None,
                None)


def _row(visit: Visit, text_ts: bool) -> Row:
    link_id, ts, agent_text, referer, country, visitor = visit
    agent = visitors.classify(agent_text)
    return (
        link_id,
        _timestamp(ts, text_ts),
        visitors.referrer_host(referer),
        agent.browser,
        agent.os,
        agent.device,
        agent.is_bot,
        visitors.country(country),
        visitor,
    )


def _timestamp(ts: float, text: bool) -> Any:
    """Naive UTC, as ``UTCDateTime`` stores it; on SQLite in SQLAlchemy's text format."""
    naive = datetime.fromtimestamp(ts, UTC).replace(tzinfo=None)
    return naive.isoformat(" ", "microseconds") if text else naive


def _pick(headers: Iterable[tuple[bytes, bytes]], wanted: frozenset[bytes]) -> dict[bytes, str]:
    return {name: value.decode("latin-1") for name, value in headers if name in wanted}
