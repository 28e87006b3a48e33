"""Starting the connector's processes: the web app, a Celery worker with its sweeper.

Each ``run_*``/``serve_*`` function blocks in the current process; each ``spawn_*`` starts
the same thing as a child process (``python -m kliqs_core.connector ...``) for ``kliqs up``.
"""

from __future__ import annotations

import gc
import subprocess
import sys
from collections.abc import Mapping
from typing import Any

from kliqs_core.connector import runtime
from kliqs_core.connector.priority import lower_cpu_priority
from kliqs_core.connector.settings import ConnectorSettings
from kliqs_core.connector.sweeper import Sweeper, prune_broker, sweep

__all__ = [
    "DEFAULT_HOST",
    "DEFAULT_PORT",
    "connector_command",
    "freeze_startup_objects",
    "run_worker",
    "serve_connector",
    "spawn_connector",
    "spawn_worker",
    "start_sweeper",
    "sweep_once",
    "worker_command",
]

DEFAULT_HOST = "127.0.0.1"
DEFAULT_PORT = 8100


def serve_connector(
    *, host: str = DEFAULT_HOST, port: int = DEFAULT_PORT, log_level: str = "info"
) -> None:
    """Start up (plug-ins, migrations) and serve the connector web app with uvicorn."""
    import uvicorn

    from kliqs_core.connector.web import create_app

    runtime.start_up()
    app = create_app()
    freeze_startup_objects()
    # No access log: a line per delivery cost a third of a webhook's handling time, and every
    # verified delivery is a row in the inbox anyway (handlers log what they refuse).
    uvicorn.run(app, host=host, port=port, log_level=log_level, access_log=False)


def freeze_startup_objects() -> None:
    """Keep what start-up built (modules, the Celery app, plug-ins) out of garbage collection.

    A full collection walks every tracked object: after start-up the web process holds over
    100,000 (Celery, SQLAlchemy, pydantic), and one pass took 50-75 ms here. Under a burst of
    webhooks the objects of the requests in flight get promoted and trigger such a pass every
    couple of thousand requests, stalling every webhook in flight at once (the ack p99 in
    ``bench/pipeline``). Frozen objects are never scanned again; what requests create still is.
    """
    from kliqs_core.connector import tasks  # noqa: F401  (imported at the first publish otherwise)

    gc.collect()
    gc.freeze()


def sweep_once(settings: ConnectorSettings | None = None) -> None:
    """One sweep of the runtime's database, then prune the embedded broker."""
    settings = settings or runtime.get_settings()
    sweep(
        database=runtime.get_database(),
        enqueue=runtime.enqueue_product,
        grace_seconds=settings.connector_sweep_grace,
    )
    prune_broker(settings.effective_broker_url)


def start_sweeper(settings: ConnectorSettings | None = None) -> Sweeper:
    """Start the sweeper thread of this process."""
    settings = settings or runtime.get_settings()
    sweeper = Sweeper(lambda: sweep_once(settings), interval=settings.connector_sweep_interval)
    sweeper.start()
    return sweeper


def run_worker(
    *,
    concurrency: int = 1,
    pool: str = "prefork",
    loglevel: str = "INFO",
    with_sweeper: bool = True,
) -> None:
    """Start up, then run a Celery worker (blocking) with the sweeper thread beside it."""
    from celery import signals

    from kliqs_core.connector.celery_app import configure_celery, is_sqla_broker

    settings = runtime.start_up()
    runtime.check_kliqs_client()
    lower_cpu_priority(settings.connector_worker_nice)  # pool children inherit it
    app = configure_celery(settings)
    sweepers: list[Sweeper] = []

    # Started once the pool has forked its processes, so no child inherits the thread.
    def _start(**_: Any) -> None:
        sweepers.append(start_sweeper(settings))

    def _stop(**_: Any) -> None:
        for sweeper in sweepers:
            sweeper.stop()

    if with_sweeper:
        signals.worker_ready.connect(_start, weak=False)
        signals.worker_shutdown.connect(_stop, weak=False)
    argv = ["worker", f"--concurrency={concurrency}", f"--pool={pool}", f"--loglevel={loglevel}"]
    if is_sqla_broker(settings.effective_broker_url):
        # Gossip, mingle and heartbeats use fanout exchanges the SQLAlchemy transport lacks.
        argv += ["--without-gossip", "--without-mingle", "--without-heartbeat"]
    app.worker_main(argv)


def worker_command(
    *, concurrency: int = 1, pool: str = "prefork", loglevel: str = "INFO"
) -> list[str]:
    """The command line that runs a worker in a child process."""
    return [
        sys.executable,
        "-m",
        "kliqs_core.connector",
        "worker",
        "--concurrency",
        str(concurrency),
        "--pool",
        pool,
        "--loglevel",
        loglevel,
    ]


def connector_command(*, host: str = DEFAULT_HOST, port: int = DEFAULT_PORT) -> list[str]:
    """The command line that serves the connector web app in a child process."""
    return [
        sys.executable,
        "-m",
        "kliqs_core.connector",
        "connect",
        "--host",
        host,
        "--port",
        str(port),
    ]


def spawn_worker(
    *, concurrency: int = 1, env: Mapping[str, str] | None = None, **popen: Any
) -> subprocess.Popen[bytes]:
    """Start a worker (with its sweeper) as a child process; ``env`` replaces the environment."""
    return subprocess.Popen(worker_command(concurrency=concurrency), env=env, **popen)


def spawn_connector(
    *,
    host: str = DEFAULT_HOST,
    port: int = DEFAULT_PORT,
    env: Mapping[str, str] | None = None,
    **popen: Any,
) -> subprocess.Popen[bytes]:
    """Start the connector web app as a child process; ``env`` replaces the environment."""
    return subprocess.Popen(connector_command(host=host, port=port), env=env, **popen)
