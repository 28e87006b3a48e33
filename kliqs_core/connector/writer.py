"""Storing webhooks for the event loop: one thread, many webhooks per transaction.

A webhook must be committed before its 200, and a burst of them (a product import) arrives
tens at a time. Handing each to a thread of its own cost the web process more than the rest
of the webhook: a thread hop, a pooled connection checkout and a commit per delivery, and
a GIL shared by as many threads as webhooks in flight. :class:`BatchWriter` instead runs
every store on one thread: it takes what has piled up since its last transaction (up to
``max_batch``), runs it in ONE transaction, and wakes the event loop once for the lot. A
lone webhook still goes at once (nothing waits for company); a burst pays one commit per
batch, and stores that can be merged (``run_grouped``: on PostgreSQL, the new products)
are one statement per batch. Measured in ``bench/pipeline`` (its README has the figures).

A failed batch loses nothing: the transaction is rolled back and each of its jobs runs
again alone, in its own transaction, so one bad delivery (or a unique-key race with another
process) only fails itself. An error of the database itself (unreachable, locked) fails
the batch at once: each job alone would only wait for the same error again.
"""

from __future__ import annotations

import asyncio
import logging
import queue
import threading
import weakref
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, Generic, TypeVar

from sqlalchemy import Connection
from sqlalchemy.exc import IntegrityError, InterfaceError, OperationalError
from sqlalchemy.exc import TimeoutError as PoolTimeout

from kliqs_core.connector.db import Database

__all__ = ["BatchWriter", "Group", "Job", "writer_for"]

log = logging.getLogger(__name__)

T = TypeVar("T")

#: Errors of the database itself (unreachable, locked, no connection free), not of a job.
_DATABASE_DOWN = (OperationalError, InterfaceError, PoolTimeout)

Item = TypeVar("Item")

#: One store: statements on the connection it is given, inside the batch's transaction.
#: It must not commit, and it may run twice (alone, after its batch failed).
Job = Callable[[Connection], T]
#: Stores that are cheaper together: called once per batch with every item submitted for it
#: (``run_grouped``), in order; returns one result per item. One multi-row statement instead
#: of a statement per webhook. The same rules as a :data:`Job`; alone it gets one item.
Group = Callable[[Connection, list[Item]], list[T]]


@dataclass
class _Pending(Generic[T]):
    job: Callable[[Connection], Any] | None
    group: Callable[[Connection, list[Any]], list[Any]] | None
    item: Any
    loop: asyncio.AbstractEventLoop
    future: asyncio.Future[T]


class BatchWriter:
    """A thread running database jobs for coroutines, batched into shared transactions.

    The thread starts with the first job and ends after ``idle_seconds`` without one, so an
    idle process (or a test's short-lived database) keeps no thread.
    """

    def __init__(
        self, database: Database, *, max_batch: int = 64, idle_seconds: float = 5.0
    ) -> None:
        if max_batch < 1:
            raise ValueError("max_batch must be at least 1")
        self.database = database
        self.max_batch = max_batch
        self.idle_seconds = idle_seconds
        self._queue: queue.SimpleQueue[_Pending[Any]] = queue.SimpleQueue()
        self._lock = threading.Lock()
        self._running = False

    @property
    def running(self) -> bool:
        """True while the writer's thread is up (it ends after ``idle_seconds`` idle)."""
        return self._running

    @property
    def waiting(self) -> int:
        """Jobs queued and not yet taken into a batch."""
        return self._queue.qsize()

    async def run(self, job: Job[T]) -> T:
        """Run ``job`` in the writer's next transaction; its result, or what it raised."""
        result: T = await self._submit(job, None, None)
        return result

    async def run_grouped(self, group: Group[Item, T], item: Item) -> T:
        """Run ``item`` through ``group`` with the batch's other items for the same group."""
        result: T = await self._submit(None, group, item)
        return result

    async def _submit(
        self,
        job: Callable[[Connection], Any] | None,
        group: Callable[[Connection, list[Any]], list[Any]] | None,
        item: Any,
    ) -> Any:
        loop = asyncio.get_running_loop()
        future: asyncio.Future[Any] = loop.create_future()
        pending = _Pending(job, group, item, loop, future)
        with self._lock:
            self._queue.put(pending)
            if not self._running:
                self._running = True
                threading.Thread(target=self._serve, name="kliqs-inbox-writer",
                                 daemon=True).start()  # fmt: skip
        return await future

    def _serve(self) -> None:
        while (batch := self._next_batch()) is not None:
            _settle(batch, self._results(batch))

    def _next_batch(self) -> list[_Pending[Any]] | None:
        """What is waiting (at least one job), or None when it is time for the thread to end."""
        try:
            first = self._queue.get(timeout=self.idle_seconds)
        except queue.Empty:
            with self._lock:
                if self._queue.empty():
                    self._running = False
                    return None
            first = self._queue.get()
        batch = [first]
        while len(batch) < self.max_batch:
            try:
                batch.append(self._queue.get_nowait())
            except queue.Empty:
                break
        return batch

    def _results(self, batch: list[_Pending[Any]]) -> list[tuple[bool, Any]]:
        """(ok, result or exception) per job: together if they can, else each alone."""
        try:
            with self.database.begin() as conn:
                return [(True, result) for result in _run_together(conn, batch)]
        except _DATABASE_DOWN as exc:
            # Not one job's fault: trying each alone would only wait for it once per job.
            return [(False, exc)] * len(batch)
        except Exception:
            if len(batch) > 1:
                log.debug("a batch of %d stores failed; running each alone", len(batch))
            return [self._alone(pending) for pending in batch]

    def _alone(self, pending: _Pending[Any]) -> tuple[bool, Any]:
        # A unique-key race with another process: the second try sees the winner's rows.
        for attempt in range(2):
            try:
                with self.database.begin() as conn:
                    return True, _run_together(conn, [pending])[0]
            except IntegrityError as exc:
                if attempt == 1:
                    return False, exc
            except Exception as exc:
                return False, exc
        raise AssertionError("unreachable")


def _run_together(conn: Connection, batch: list[_Pending[Any]]) -> list[Any]:
    """Run ``batch`` on ``conn``: each group once with its items, then the plain jobs in
    order; the results in the batch's order."""
    results: list[Any] = [None] * len(batch)
    groups: dict[Callable[[Connection, list[Any]], list[Any]], list[int]] = {}
    for index, pending in enumerate(batch):
        if pending.group is not None:
            groups.setdefault(pending.group, []).append(index)
    for group, indexes in groups.items():
        outcomes = group(conn, [batch[index].item for index in indexes])
        for index, outcome in zip(indexes, outcomes, strict=True):
            results[index] = outcome
    for index, pending in enumerate(batch):
        if pending.job is not None:
            results[index] = pending.job(conn)
    return results


def _settle(batch: list[_Pending[Any]], results: list[tuple[bool, Any]]) -> None:
    """Hand the results to their event loops: one wake-up per loop, not one per job."""
    by_loop: dict[asyncio.AbstractEventLoop, list[tuple[asyncio.Future[Any], bool, Any]]] = {}
    for pending, (ok, value) in zip(batch, results, strict=True):
        by_loop.setdefault(pending.loop, []).append((pending.future, ok, value))
    for loop, outcomes in by_loop.items():
        try:
            loop.call_soon_threadsafe(_set_results, outcomes)
        except RuntimeError:
            pass  # that loop is closed: nobody waits for these answers any more


def _set_results(outcomes: list[tuple[asyncio.Future[Any], bool, Any]]) -> None:
    for future, ok, value in outcomes:
        if future.done():  # the request was cancelled; what it stored stays stored
            continue
        if ok:
            future.set_result(value)
        else:
            future.set_exception(value)


_WRITERS: weakref.WeakKeyDictionary[Database, BatchWriter] = weakref.WeakKeyDictionary()
_WRITERS_LOCK = threading.Lock()


def writer_for(database: Database) -> BatchWriter:
    """The one :class:`BatchWriter` of ``database`` in this process."""
    with _WRITERS_LOCK:
        writer = _WRITERS.get(database)
        if writer is None:
            writer = _WRITERS[database] = BatchWriter(database)
        return writer
