"""The click ingester: stores the click spool's batches, in a process of its own.

``kliqs serve`` starts one beside its workers (:mod:`server.worker`). Each spool file is one
transaction: its click rows, the links' counters and the file's name in ``click_batches``;
the file is removed after the commit. A crash between the two leaves a file whose name is
recorded, and it is then removed without being counted again: exactly once, whatever is
killed when. Batches left by an earlier run are stored first.

It stops when its standard input closes, that is when the serving process has ended (it
closes the pipe after its workers handed on their last clicks, and the kernel closes it
if that process dies), after storing every batch left. SIGINT and SIGTERM are ignored: a
Ctrl-C in a terminal reaches the whole process group, and stopping here before the workers
have flushed would leave their last batches waiting for the next start.
"""

from __future__ import annotations

import argparse
import logging
import os
import signal
import sys
import threading
import time
from datetime import timedelta
from pathlib import Path
from typing import Any

from sqlalchemy import Engine
from sqlalchemy.exc import SQLAlchemyError

from server.clock import utcnow
from server.public.clicks import store_visits
from server.public.clickstore import AlreadyStored, forget_batches
from server.public.spool import Spool

log = logging.getLogger("kliqs.public.ingest")

# Names of stored batches are kept this long: far longer than any file lives after its
# commit, so a second ingester on the same spool that read a file just before it was removed
# still finds the name.
KEEP_NAMES = timedelta(hours=1)
_FORGET_EVERY = 600.0
#: Clicks stored per transaction at most when batches are waiting together.
GROUP_CLICKS = 50_000
#: Seconds between two looks at the spool: what arrived meanwhile is stored together, so a
#: link's page is rewritten once for many clicks (under load this halves the ingester's CPU).
INGEST_EVERY = 2.0
# Below the workers' priority: under full load the event loops get the CPU and the spool
# grows; the ingester catches up as soon as the load drops.
NICENESS = 19


class Ingester:
    """Stores whole spool batches into the database."""

    def __init__(self, spool: Spool, engine: Engine, poll: float) -> None:
        self.spool = spool
        self.engine = engine
        self.poll = poll
        self.stored = 0
        self._forgotten_at = 0.0

    def drain(self) -> bool:
        """Store every batch waiting now; False when the database failed (retry later).

        Batches waiting together are stored together, up to :data:`GROUP_CLICKS` clicks per
        transaction: under load each transaction then rewrites a link's page once for many
        clicks instead of once per batch.
        """
        group: list[str] = []
        visits: list[Any] = []
        for name in self.spool.names():
            batch = self._read(name)
            if batch is None:
                continue
            group.append(name)
            visits.extend(batch)
            if len(visits) >= GROUP_CLICKS:
                if not self._store(group, visits):
                    return False
                group, visits = [], []
        if group and not self._store(group, visits):
            return False
        self._forget_old_names()
        return True

    def _store(self, group: list[str], visits: list[Any]) -> bool:
        try:
            store_visits(self.engine, visits, batches=group)
        except AlreadyStored:
            if len(group) > 1:  # find the batch stored before; store the others
                return all(self._store([name], self.spool.read(name) or [])
                           for name in group)
            log.info("click batch %s was stored before; removing it", group[0])
        except SQLAlchemyError:
            log.exception("storing %d click batches failed; retrying", len(group))
            return False
        else:
            self.stored += len(visits)
        for name in group:
            self.spool.remove(name)
        return True

    def _drain_safely(self) -> bool:
        """:meth:`drain`, logging instead of ending the process on a surprise."""
        try:
            return self.drain()
        except Exception:
            log.exception("storing click batches failed; retrying")
            return False

    def _read(self, name: str) -> list[Any] | None:
        try:
            return self.spool.read(name)
        except ValueError:
            self.spool.quarantine(name)
            return None

    def _forget_old_names(self) -> None:
        now = time.monotonic()
        if now - self._forgotten_at < _FORGET_EVERY:
            return
        self._forgotten_at = now
        try:
            forget_batches(self.engine, utcnow() - KEEP_NAMES)
        except SQLAlchemyError:
            log.exception("forgetting old click batch names failed")

    def run(self, stop: threading.Event) -> None:
        """Drain every ``poll`` seconds until ``stop``; then drain what is left and return."""
        while not stop.is_set():
            self._drain_safely()
            stop.wait(self.poll)
        for _attempt in range(30):  # the database may be briefly away at shut-down
            if self._drain_safely() and not self.spool.names():
                return
            time.sleep(1)
        log.error("click batches left in %s; stored at the next start",
                  self.spool.directory)


def _lower_priority() -> None:
    """Run only on CPU time the workers leave (Linux ``SCHED_IDLE``), else at nice 19."""
    try:
        os.sched_setscheduler(0, os.SCHED_IDLE, os.sched_param(0))  # type: ignore[attr-defined]
    except (AttributeError, OSError):
        os.nice(NICENESS)


def _stop_on_stdin_eof(stop: threading.Event) -> None:
    def wait() -> None:
        try:
            while sys.stdin.buffer.read(4096):
                pass
        finally:
            stop.set()

    threading.Thread(target=wait, name="kliqs-ingest-stdin", daemon=True).start()


def main(argv: list[str] | None = None) -> None:
    """``python -m server.public.ingest --spool DIR``: run until standard input closes."""
    parser = argparse.ArgumentParser(prog="python -m server.public.ingest",
                                     description=__doc__)
    parser.add_argument("--spool", type=Path, required=True)
    args = parser.parse_args(argv)

    from server.clock import set_offset
    from server.config import get_settings
    from server.db.checkpoint import Checkpointer
    from server.db.engine import is_sqlite, make_engine

    for sig in (signal.SIGINT, signal.SIGTERM):
        signal.signal(sig, signal.SIG_IGN)
    settings = get_settings()
    logging.basicConfig(level=settings.log_level.upper(),
                        format="%(levelname)s:     [ingest] %(message)s")
    set_offset(settings.clock_offset_seconds)
    _lower_priority()
    stop = threading.Event()
    _stop_on_stdin_eof(stop)
    engine = make_engine(settings, pool=False)
    ingester = Ingester(Spool(args.spool), engine, poll=INGEST_EVERY)
    # The workers leave SQLite's WAL checkpoints to this process (server.state.Kliqs.start).
    checkpointer = Checkpointer(engine) if is_sqlite(engine) else None
    if checkpointer is not None:
        checkpointer.start()
    try:
        ingester.run(stop)
    finally:
        if checkpointer is not None:
            checkpointer.stop()
        engine.dispose()
        log.debug("stored %d clicks", ingester.stored)


if __name__ == "__main__":
    main()
