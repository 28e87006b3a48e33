"""The serving process of ``kliqs serve``: uvicorn and the app, nothing else.

``kliqs serve`` applies the migrations, then replaces itself (``exec``, same PID, so signals
still reach it) with ``python -m server.worker``. The command line's own imports (typer,
rich, every integration's sub-commands with Celery, Alembic for the migrations) would
otherwise stay in the memory of the process that serves requests: about 30 MB per worker.
"""

from __future__ import annotations

import argparse
import os
import sys

__all__ = ["command", "main"]


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
    )


if __name__ == "__main__":
    main()
