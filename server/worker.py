"""The serving process of ``kliqs serve``: uvicorn and the app, nothing else.

``kliqs serve`` applies the migrations, then replaces itself (``exec``, same PID, so signals
still reach it) with ``python -m server.worker``. The command line's own imports (typer,
rich, every integration's sub-commands with Celery, Alembic for the migrations) would
otherwise stay in the memory of the process that serves requests: about 30 MB per worker.

With click recording on, this process also starts the click ingester
(:mod:`server.public.ingest`) before uvicorn, points the workers' click spool at
``<data dir>/click-spool`` (or ``KLIQS_CLICK_SPOOL_DIR``), and after uvicorn's graceful stop
waits until the ingester has stored the workers' last batches: a stop by SIGTERM or SIGINT
leaves every click in the database.
"""

from __future__ import annotations

import argparse
import logging
import os
import signal
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from types import FrameType

__all__ = ["command", "main"]

log = logging.getLogger("kliqs.server")


def command(*, host: str, port: int, workers: int) -> list[str]:
    """The command line that serves the app (what ``kliqs serve`` execs)."""
    return [sys.executable, "-m", "server.worker", "--host", host, "--port", str(port),
            "--workers", str(workers)]


def exec_worker(*, host: str, port: int, workers: int) -> None:
    """Replace this process with the serving process (does not return)."""
    argv = command(host=host, port=port, workers=workers)
    sys.stdout.flush()
    sys.stderr.flush()
    os.execv(argv[0], argv)


def main(argv: list[str] | None = None) -> None:
    """Serve the app with uvicorn (blocking)."""
    parser = argparse.ArgumentParser(prog="python -m server.worker", description=__doc__)
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=8000)
    parser.add_argument("--workers", type=int, default=1)
    args = parser.parse_args(argv)

    with click_ingester():
        _serve(args)


def _serve(args: argparse.Namespace) -> None:
    import uvicorn

    from server.config import get_settings
    from server.protocol import PROTOCOL

    uvicorn.run(
        "server.app:create_app",
        factory=True,
        host=args.host,
        port=args.port,
        workers=args.workers,
        log_level=get_settings().log_level,
        access_log=False,
        http=PROTOCOL,  # malformed requests answered in the envelope
        timeout_graceful_shutdown=10,
        # API clients and the SDK reuse connections; 5 s (uvicorn's default) drops them
        # between bursts of a shop sync.
        timeout_keep_alive=30,
        # X-Forwarded-* are read only where we trust them (KLIQS_COUNTRY_HEADER and the
        # public side's client IP setting), not on every request by uvicorn.
        proxy_headers=False,
        server_header=False,  # "server: uvicorn" tells visitors nothing they need
        ws="none",  # no WebSocket routes; spares importing a WebSocket library per worker
    )


@contextmanager
def click_ingester() -> Iterator[None]:
    """Run the click ingester beside the body; afterwards let it store what is left.

    uvicorn re-raises SIGTERM/SIGINT once its graceful stop is done, which would end this
    process before the ingester has finished: the signal is held here instead, and
    re-raised after the ingester exits. A signal that arrives before uvicorn handles signals
    itself (while it starts) ends the body the same way.
    """
    from server.config import Settings

    settings = Settings()
    if not settings.click_recording:
        yield
        return
    spool = settings.click_spool_dir or settings.data_dir / "click-spool"
    os.environ["KLIQS_CLICK_SPOOL_DIR"] = str(spool)  # the workers' settings read it
    ingester = IngesterProcess(Path(spool))
    held: list[int] = []

    def hold(sig: int, _frame: FrameType | None) -> None:
        held.append(sig)
        raise _StopSignal(sig)

    previous = {sig: signal.signal(sig, hold) for sig in (signal.SIGTERM, signal.SIGINT)}
    try:
        yield
    except _StopSignal:
        pass  # re-raised below, once the ingester is done
    finally:
        ingester.finish()
        for sig, handler in previous.items():
            signal.signal(sig, handler)
        for sig in held[:1]:
            signal.raise_signal(sig)


class _StopSignal(Exception):
    """SIGTERM or SIGINT reached this process outside uvicorn's own handlers."""


class IngesterProcess:
    """The click ingester child, started again if it ever dies while the server runs (the
    spool keeps every click meanwhile; nothing is stored twice)."""

    RESTART_DELAY = 1.0

    def __init__(self, spool: Path) -> None:
        self._argv = [sys.executable, "-m", "server.public.ingest", "--spool", str(spool)]
        self._lock = threading.Lock()
        self._finishing = False
        self._proc = self._start()
        threading.Thread(target=self._watch, name="kliqs-ingester-watch", daemon=True).start()

    def _start(self) -> subprocess.Popen[bytes]:
        return subprocess.Popen(self._argv, stdin=subprocess.PIPE)

    def _watch(self) -> None:
        while True:
            code = self._proc.wait()
            time.sleep(self.RESTART_DELAY)
            with self._lock:
                if self._finishing:
                    return
                log.error("the click ingester exited (%s); starting it again", code)
                self._proc = self._start()

    def finish(self) -> None:
        """Close its input (store what is left, then exit) and wait for it."""
        with self._lock:
            self._finishing = True
            proc = self._proc
        assert proc.stdin is not None
        proc.stdin.close()
        proc.wait()


if __name__ == "__main__":
    main()
