"""Storing webhooks for the event loop: one thread, many webhooks per transaction.

A webhook must be committed before its 200, and a burst of them (a product import) arrives
tens at a time. Handing each to a thread of its own cost the web process more than the rest
of the webhook: a thread hop, a pooled connection checkout and a commit per delivery, and
a GIL shared by as many threads as webhooks in flight. :class:`BatchWriter` instead runs
every store on one thread: it takes what has piled up since its last transaction (up to
``max_batch``), runs it in ONE transaction, and wakes the event loop once for the lot. A
lone webhook still goes at once (nothing waits for company); a burst pays one commit per
batch. On PostgreSQL the new products' inserts of a batch go out in one psycopg pipeline
(one round trip, not one per webhook). Measured in ``bench/pipeline`` (its README has the
figures).

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
from collections.abc import Callable, Generator, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Any, Generic, TypeVar

import psycopg
from sqlalchemy import Connection
from sqlalchemy.exc import DBAPIError, IntegrityError, InterfaceError, OperationalError
from sqlalchemy.exc import TimeoutError as PoolTimeout

from kliqs_core.connector.db import Database

__all__ = ["BatchWriter", "Job", "PipelinedJob", "writer_for"]

log = logging.getLogger(__name__)

T = TypeVar("T")

#: Errors of the database itself (unreachable, locked, no connection free), not of a job.
_DATABASE_DOWN = (OperationalError, InterfaceError, PoolTimeout)

#: One store: statements on the connection it is given, inside the batch's transaction.
#: It must not commit, and it may run twice (alone, after its batch failed).
Job = Callable[[Connection], T]
#: A store in two halves: it sends its statement, yields once, then reads the result (and
#: may run more statements). On PostgreSQL the writer sends every pipelined job's statement
#: before it reads any: one round trip for the batch instead of one per job.
PipelinedJob = Callable[[Connection], Generator[None, None, T]]


@dataclass
class _Pending(Generic[T]):
    job: Callable[[Connection], Any]
    pipelined: bool
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

    async def run(self, job: Job[T]) -> T:
        """Run ``job`` in the writer's next transaction; its result, or what it raised."""
        result: T = await self._submit(job, pipelined=False)
        return result

    async def run_pipelined(self, job: PipelinedJob[T]) -> T:
        """Like :meth:`run`, for a job in two halves (see :data:`PipelinedJob`)."""
        result: T = await self._submit(job, pipelined=True)
        return result

    async def _submit(self, job: Callable[[Connection], Any], *, pipelined: bool) -> Any:
        loop = asyncio.get_running_loop()
        future: asyncio.Future[Any] = loop.create_future()
        pending = _Pending(job, pipelined, loop, future)
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
    """Run ``batch`` on ``conn``: the pipelined jobs' first halves in one pipeline, then
    every job in order (plain ones whole, pipelined ones their second half)."""
    halves: list[Generator[None, None, Any] | None] = [None] * len(batch)
    if any(pending.pipelined for pending in batch):
        with _pipeline(conn):
            for index, pending in enumerate(batch):
                if pending.pipelined:
                    halves[index] = _first_half(pending.job(conn))
    return [pending.job(conn) if half is None else _second_half(half)
            for pending, half in zip(batch, halves, strict=True)]  # fmt: skip


def _first_half(job: Generator[None, None, Any]) -> Generator[None, None, Any]:
    next(job)
    return job


def _second_half(job: Generator[None, None, Any]) -> Any:
    try:
        next(job)
    except StopIteration as done:
        return done.value
    raise RuntimeError("a pipelined job must yield exactly once")


@contextmanager
def _pipeline(conn: Connection) -> Iterator[None]:
    """psycopg's pipeline mode (statements sent without waiting for each result) on
    PostgreSQL; nothing elsewhere. Its errors come out as SQLAlchemy's."""
    driver = conn.connection.driver_connection
    if not isinstance(driver, psycopg.Connection):
        yield
        return
    try:
        with driver.pipeline():
            yield
    except psycopg.Error as exc:
        raise DBAPIError.instance(None, None, exc, psycopg.Error) from exc


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
