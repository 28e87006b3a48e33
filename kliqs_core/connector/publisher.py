"""Publishing product ids to the broker from one background thread, a few per message.

A webhook's answer should not wait on the broker, and a burst of webhooks should not cost
one task message (and one task start in a worker) per product. The web process hands each
stored product's id to :class:`Publisher`; its thread sends what has piled up since its last
send, plus what arrives within ``linger`` (5 ms) of the first, as one message:
``process_products`` with up to ``max_batch`` (4) ids, or the plain ``process_product`` for a
lone id. One webhook at a time therefore still makes one message, 5 ms later; a burst is
grouped, which is when the per-task overhead (a third of a worker's CPU per product)
matters. The price: the products of one message run one after the other in one worker
thread, so a slow shop delays up to three others behind it.

Nothing here is durable, and nothing needs to be: the product rows are committed before
their id gets here, and the sweeper re-queues stored products that were never run (a
process killed with ids still waiting, a broker that was down).
"""

from __future__ import annotations

import logging
import queue
import threading
import time
from collections.abc import Callable

__all__ = ["Publisher"]

log = logging.getLogger(__name__)

Publish = Callable[[list[int]], object]

_STOP = -1


class Publisher:
    """One thread sending product ids through ``publish``, grouped when they pile up."""

    def __init__(self, publish: Publish, *, max_batch: int = 4, linger: float = 0.005) -> None:
        if max_batch < 1 or linger < 0:
            raise ValueError("max_batch must be at least 1 and linger at least 0")
        self._publish = publish
        self.max_batch = max_batch
        self.linger = linger
        self._queue: queue.SimpleQueue[int] = queue.SimpleQueue()
        self._thread: threading.Thread | None = None
        self._lock = threading.Lock()

    def submit(self, product_pk: int) -> None:
        """Queue ``product_pk`` for publishing (never blocks, never raises on broker errors)."""
        if self._thread is None:
            self._start()
        self._queue.put(product_pk)

    def close(self, timeout: float = 5.0) -> None:
        """Publish what is waiting, then stop the thread (what is left, the sweeper takes)."""
        with self._lock:
            thread, self._thread = self._thread, None
        if thread is not None:
            self._queue.put(_STOP)
            thread.join(timeout)

    def _start(self) -> None:
        with self._lock:
            if self._thread is None:
                self._thread = threading.Thread(
                    target=self._run, name="kliqs-publisher", daemon=True
                )
                self._thread.start()

    def _run(self) -> None:
        while True:
            batch = self._next_batch()
            if _STOP in batch:
                self._send([pk for pk in batch if pk != _STOP])
                break
            self._send(batch)
        self._drain()

    def _next_batch(self) -> list[int]:
        """The next id, and those arriving within ``linger`` seconds after it (up to
        ``max_batch``)."""
        batch = [self._queue.get()]
        deadline = time.monotonic() + self.linger
        while len(batch) < self.max_batch and batch[-1] != _STOP:
            wait = deadline - time.monotonic()
            try:
                batch.append(self._queue.get(timeout=wait) if wait > 0
                             else self._queue.get_nowait())
            except queue.Empty:
                break
        return batch

    def _drain(self) -> None:
        """Send the ids queued after the stop (a webhook answered during shutdown)."""
        left: list[int] = []
        while True:
            try:
                left.append(self._queue.get_nowait())
            except queue.Empty:
                break
        for start in range(0, len(left), self.max_batch):
            self._send([pk for pk in left[start:start + self.max_batch] if pk != _STOP])

    def _send(self, batch: list[int]) -> None:
        if not batch:
            return
        try:
            self._publish(batch)
        except Exception:
            log.warning("could not queue products %s; the sweeper will", batch, exc_info=True)
