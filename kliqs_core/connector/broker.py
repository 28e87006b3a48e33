"""The embedded broker: kombu's SQLAlchemy transport, made fit for a busy queue on SQLite.

kombu's transport as it ships caps the embedded connector at about one product per second
per worker, and can kill a worker at its first start:

- **1 s polling.** A virtual transport sleeps ``polling_interval`` whenever a poll finds
  nothing to take, and it also finds nothing while the worker's prefetch window is full. So
  after each batch the worker sleeps a whole second with work waiting. And the interval
  cannot be configured: every transport option is passed on to ``create_engine``, which
  rejects ``polling_interval``.
- **Costly messages.** Each publish and fetch goes through an ORM session, on a SQLite file
  in rollback-journal mode that syncs to disk at every commit.
- **A start-up race.** Web app and worker create the tables and the queue row at the same
  moment on a fresh data folder; the loser gets an error kombu does not handle.

This transport polls again after a few milliseconds while messages are flowing and backs off
to ``polling_interval`` (0.25 s) when the queue is idle; publishes and fetches with one Core
statement each on kombu's own tables (so a worker on kombu's transport still reads the same
queue); opens SQLite in WAL mode with ``synchronous=NORMAL``; and retries the table and queue
creation. :func:`use_fast_sqla_transport` makes ``sqla+...`` broker URLs use it.
"""

from __future__ import annotations

import os
import socket
import threading
import time
from json import dumps, loads
from queue import Empty
from typing import Any

from kombu.transport import TRANSPORT_ALIASES
from kombu.transport import sqlalchemy as kombu_sqla
from sqlalchemy import create_engine, event, insert, select, update
from sqlalchemy.engine import Engine
from sqlalchemy.exc import IntegrityError, OperationalError

__all__ = ["TRANSPORT", "Channel", "Transport", "use_fast_sqla_transport"]

TRANSPORT = "kliqs_core.connector.broker:Transport"
_CREATE_TRIES = 8
#: Transport options this module reads; the others go to ``create_engine``.
_OWN_OPTIONS = ("polling_interval", "min_polling_interval")
#: What kombu's own channel removes before calling ``create_engine``.
_KOMBU_OPTIONS = ("queue_tablename", "message_tablename", "callback", "errback", "max_retries",
                  "interval_start", "interval_step", "interval_max", "retry_errors")  # fmt: skip


def use_fast_sqla_transport() -> None:
    """Make the ``sqla`` URL prefix (``sqla+sqlite:///...``) select this module's transport.

    kombu takes the transport from the URL prefix before any ``broker_transport`` setting,
    and keeps its aliases in a plain dict meant to be extended; this is one entry in it.
    """
    TRANSPORT_ALIASES["sqla"] = TRANSPORT


_locks: dict[str, threading.RLock] = {}
_locks_guard = threading.Lock()


def _store_lock(url: str) -> threading.RLock:
    """One lock per message store and process: its channels take turns, see `Channel`."""
    with _locks_guard:
        return _locks.setdefault(url, threading.RLock())


def _forget_locks() -> None:
    global _locks_guard
    _locks.clear()  # a child must not inherit a lock another thread of the parent held
    _locks_guard = threading.Lock()


os.register_at_fork(after_in_child=_forget_locks)


class Channel(kombu_sqla.Channel):
    """kombu's channel with a leaner publish and fetch, WAL on SQLite, and our options kept
    from ``create_engine``.

    kombu publishes and fetches through an ORM session (a unit of work, a queue look-up and
    a version check per message: most of the cost of a publish). Here both are one Core
    statement on kombu's own tables: an insert, and an ``UPDATE ... RETURNING`` that takes the
    oldest visible message, atomically on SQLite and PostgreSQL alike. Publishing threads
    take turns on a process lock, which spares them SQLite's sleeping busy handler.
    """

    _queue_ids: dict[str, int] | None = None

    # kombu's own classes name the second parameter differently (message / payload).
    def _put(self, queue: Any, payload: Any, **kwargs: Any) -> None:  # type: ignore[override]
        messages = self.message_cls.__table__
        with _store_lock(self.connection.client.hostname):
            row = {"queue_id": self._queue_id(queue), "payload": dumps(payload), "visible": True}
            with self._open()[0].begin() as conn:
                conn.execute(insert(messages), row)

    def _get(self, queue: Any, timeout: Any = None) -> Any:
        messages = self.message_cls.__table__
        oldest = (
            select(messages.c.id)
            .where(messages.c.queue_id == self._queue_id(queue), messages.c.visible.is_(True))
            .order_by(messages.c.timestamp, messages.c.id)
            .limit(1)
            .scalar_subquery()
        )
        take = (
            update(messages)
            .where(messages.c.id == oldest, messages.c.visible.is_(True))
            .values(visible=False)
            .returning(messages.c.payload)
        )
        with _store_lock(self.connection.client.hostname):
            with self._open()[0].begin() as conn:
                payload = conn.execute(take).scalar()
        if payload is None:
            raise Empty()
        return loads(payload)

    def _queue_id(self, queue: str) -> int:
        if self._queue_ids is None:
            self._queue_ids = {}
        if queue not in self._queue_ids:
            self._queue_ids[queue] = int(self._get_or_create(queue).id)
        return self._queue_ids[queue]

    # The web process and the workers start together on a fresh data folder, and each
    # creates the tables and the queue row if missing. kombu lets the loser of that race
    # fail ("table already exists", a UNIQUE violation on the queue name, or a queue object
    # that was never saved), which kills a worker at start. Here the loser looks again.

    def _open(self) -> Any:
        for attempt in range(_CREATE_TRIES):
            try:
                return super()._open()  # type: ignore[no-untyped-call]
            except OperationalError:
                if attempt == _CREATE_TRIES - 1:
                    raise
                time.sleep(0.05 * (attempt + 1))
        raise AssertionError("unreachable")

    def _get_or_create(self, queue: str) -> Any:
        for attempt in range(_CREATE_TRIES):
            try:
                found = super()._get_or_create(queue)  # type: ignore[no-untyped-call]
                if found.id is not None:
                    return found
            except (IntegrityError, OperationalError):
                if attempt == _CREATE_TRIES - 1:
                    raise
            self.session.rollback()
            time.sleep(0.05 * (attempt + 1))
        raise OperationalError(f"queue {queue!r} could not be created", None, Exception())

    def _engine_from_config(self) -> Engine:
        conninfo = self.connection.client
        options = {key: value for key, value in conninfo.transport_options.items()
                   if key not in _OWN_OPTIONS + _KOMBU_OPTIONS}  # fmt: skip
        engine = create_engine(conninfo.hostname, **options)
        if engine.dialect.name == "sqlite":
            event.listen(engine, "connect", _sqlite_pragmas)
        return engine


def _sqlite_pragmas(dbapi_connection: Any, _record: Any) -> None:
    cursor = dbapi_connection.cursor()
    # WAL: a publish does not wait for readers, and a commit appends instead of rewriting;
    # NORMAL: no fsync per commit (a power cut may lose the last messages; the sweeper
    # re-queues from the connector database, which is where durability lives).
    cursor.execute("PRAGMA journal_mode=WAL")
    cursor.execute("PRAGMA synchronous=NORMAL")
    cursor.close()


class Transport(kombu_sqla.Transport):
    """The SQLAlchemy transport with adaptive polling (fast while busy, slow when idle)."""

    Channel = Channel
    polling_interval = 0.25
    min_polling_interval = 0.005

    def __init__(self, client: Any, **kwargs: Any) -> None:
        super().__init__(client, **kwargs)  # type: ignore[no-untyped-call]
        options = client.transport_options
        self.min_polling_interval = float(
            options.get("min_polling_interval", self.min_polling_interval)
        )
        self._idle_wait = self.min_polling_interval

    def drain_events(self, connection: Any, timeout: float | None = None, **kwargs: Any) -> None:
        """Deliver one message; between empty polls wait twice as long each time, up to
        ``polling_interval``, and start again from ``min_polling_interval`` after a delivery."""
        started = time.monotonic()
        assert self.cycle is not None
        while True:
            try:
                self.cycle.get(self._deliver, timeout=timeout)  # type: ignore[no-untyped-call]
            except Empty:
                if timeout is not None and time.monotonic() - started >= timeout:
                    raise socket.timeout() from None
                time.sleep(self._idle_wait)
                self._idle_wait = min(self._idle_wait * 2, self.polling_interval)
            else:
                self._idle_wait = self.min_polling_interval
                return
