"""Publishing product ids to the broker from one background thread, several per message.

A webhook's answer should not wait on the broker, and a burst of webhooks should not cost
one task message (and one task start in a worker) per product. The web process hands each
stored product's id to :class:`Publisher`; its thread sends what has piled up since its last
send, plus what arrives within ``linger`` (5 ms) of the first, as one message:
``process_products`` with up to ``max_batch`` (``KLIQS_CONNECTOR_PUBLISH_BATCH``, 16) ids,
or the plain ``process_product`` for a lone id. One webhook at a time therefore still makes
one message, 5 ms later; a burst is grouped, which is when the per-message work matters: in
the web process a publish costs about 0.24 ms of CPU (Celery, kombu, the broker's round
trip), and in a worker Celery's receiving, decoding and scheduling on the pool was about a
third of its CPU per product on Redis. Measured in ``bench/pipeline``, runs paired on one
machine: batches of 4 instead of 1, workers' CPU per product 9-18 % lower and end to end
10-21 % more products per second; 16 instead of 4, saturated acknowledgements while the
workers run p99 42-48 ms instead of 56-59 (three pairs). The price: the products of one
message run one after the other in one worker thread, so a slow shop delays the others
behind it, and a burst smaller than the workers' threads times the batch uses fewer threads
(``KLIQS_CONNECTOR_PUBLISH_BATCH=1`` avoids both).

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

    def __init__(self, publish: Publish, *, max_batch: int = 16, linger: float = 0.005) -> None:
        if max_batch < 1 or linger < 0:
            raise ValueError("max_batch must be at least 1 and linger at least 0")
        self._publish = publish
        self.max_batch = max_batch
        self.linger = linger
        self._queue: queue.SimpleQueue[int] = queue.SimpleQueue()
        self._thread: threading.Thread | None = None
        self._closed = False
        self._lock = threading.Lock()

    def submit(self, product_pk: int) -> None:
        """Queue ``product_pk`` for publishing (never raises on broker errors). After
        :meth:`close` it is published at once, alone, in the caller's thread."""
        with self._lock:
            if not self._closed:
                if self._thread is None:
                    self._thread = threading.Thread(
                        target=self._run, name="kliqs-publisher", daemon=True
                    )
                    self._thread.start()
                self._queue.put(product_pk)
                return
        self._send([product_pk])

    def close(self, timeout: float = 5.0) -> None:
        """Publish what is waiting and stop the thread (what is left after ``timeout``, the
        sweeper takes)."""
        with self._lock:
            self._closed = True
            thread = self._thread
            self._queue.put(_STOP)
        if thread is not None:
            thread.join(timeout)

    def _run(self) -> None:
        while True:
            batch = self._next_batch()
            self._send([pk for pk in batch if pk != _STOP])
            if batch[-1] == _STOP:
                return

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

    def _send(self, batch: list[int]) -> None:
        if not batch:
            return
        try:
            self._publish(batch)
        except Exception:
            log.warning("could not queue products %s; the sweeper will", batch, exc_info=True)
