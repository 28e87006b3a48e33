"""Publishing product ids to the broker from one background thread.

A webhook's answer should not wait on the broker. The web process hands each stored
product's id to :class:`Publisher`, whose thread sends one ``process_product`` message per
id, in arrival order, while the handler thread answers. (Before, each answer scheduled a
Starlette background task: a second hop through the thread pool per webhook.)

Grouping a burst's ids into one message was tried and measured: the workers' CPU per product
did not change beyond the noise of the benchmark, and a group makes its products wait behind
a slow shop, so each id is its own message.

Nothing here is durable, and nothing needs to be: the product rows are committed before
their id gets here, and the sweeper re-queues stored products that were never run (a
process killed with ids still waiting, a broker that was down).
"""

from __future__ import annotations

import logging
import queue
import threading
from collections.abc import Callable

__all__ = ["Publisher"]

log = logging.getLogger(__name__)

Publish = Callable[[int], object]

_STOP = -1


class Publisher:
    """One thread sending product ids through ``publish``, in the order submitted."""

    def __init__(self, publish: Publish) -> None:
        self._publish = publish
        self._queue: queue.SimpleQueue[int] = queue.SimpleQueue()
        self._thread: threading.Thread | None = None
        self._closed = False
        self._lock = threading.Lock()

    def submit(self, product_pk: int) -> None:
        """Queue ``product_pk`` for publishing (never raises on broker errors). After
        :meth:`close` it is published at once, in the caller's thread."""
        with self._lock:
            if not self._closed:
                if self._thread is None:
                    self._thread = threading.Thread(
                        target=self._run, name="kliqs-publisher", daemon=True
                    )
                    self._thread.start()
                self._queue.put(product_pk)
                return
        self._send(product_pk)

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
        while (product_pk := self._queue.get()) != _STOP:
            self._send(product_pk)

    def _send(self, product_pk: int) -> None:
        try:
            self._publish(product_pk)
        except Exception:
            log.warning("could not queue product %s; the sweeper will", product_pk, exc_info=True)
