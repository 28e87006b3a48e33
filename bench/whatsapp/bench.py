"""The WhatsApp send-rate benchmark: several Celery workers, one shared Redis token bucket.

Steps: a fresh connector database (PostgreSQL when ``KLIQS_TEST_PG_URL`` is set, else SQLite)
with BENCH_MPS x BENCH_SECONDS active subscribers and one shortened product; the Graph API
stand-in on a loopback port; BENCH_WORKERS ``kliqs worker`` processes (``python -m
kliqs_core.connector worker``, the whatsapp plug-in, Redis broker, so the bucket is in Redis);
then one send task per subscriber, queued the way the notify step queues them. It records when
each message reaches the stand-in and prints the delivered rate, the busiest sliding 1 s window
against ``WHATSAPP_MPS``, and checks:

- never above: every sliding 1 s window holds at most ``mps`` messages;
- at least 90%: messages per second over the run >= 0.9 x ``mps``;
- each subscriber got the message exactly once.

Run it with ``bench/whatsapp/run`` (environment: BENCH_MPS, BENCH_SECONDS, BENCH_WORKERS,
BENCH_CONCURRENCY, BENCH_POOL, BENCH_DATABASE=sqlite|postgres, BENCH_KEEP=1).
"""

from __future__ import annotations

import os
import shutil
import signal
import subprocess
import sys
import tempfile
import time
import uuid
from collections import Counter
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

REPO = Path(__file__).resolve().parents[2]
sys.path[:0] = [str(REPO), str(REPO / "tests")]

from seed import drop_database, make_database, seed  # noqa: E402  (this folder)
from tests.standins.whatsapp_standin import WhatsAppStandin  # noqa: E402

MPS = int(os.environ.get("BENCH_MPS", "80"))
SECONDS = int(os.environ.get("BENCH_SECONDS", "10"))
WORKERS = int(os.environ.get("BENCH_WORKERS", "3"))
CONCURRENCY = int(os.environ.get("BENCH_CONCURRENCY", "6"))
POOL = os.environ.get("BENCH_POOL", "threads")
TOKEN = "bench-token"
FLOOR = 0.9


@dataclass(frozen=True)
class Result:
    """What the stand-in saw."""

    delivered: int
    recipients: int
    duplicates: int
    errors: int
    seconds: float
    rate: float
    busiest_window: int
    per_second: list[int]


def sliding_max(times: list[float], window: float = 1.0) -> int:
    """The most arrivals in any window ``(t - window, t]``."""
    best, start = 0, 0
    for end, moment in enumerate(times):
        while times[start] <= moment - window:
            start += 1
        best = max(best, end - start + 1)
    return best


def measure(standin: WhatsAppStandin) -> Result:
    """Rates and counts from the stand-in's record."""
    messages = standin.messages
    times = sorted(m.arrived_at for m in messages)
    counts = Counter(m.to for m in messages)
    span = times[-1] - times[0] if len(times) > 1 else 0.0
    first = times[0] if times else 0.0
    per_second = Counter(int(t - first) for t in times)
    return Result(
        delivered=len(messages),
        recipients=len(counts),
        duplicates=sum(n - 1 for n in counts.values()),
        errors=sum(1 for a in standin.attempts if a.error_code is not None),
        seconds=span,
        rate=(len(times) - 1) / span if span else 0.0,
        busiest_window=sliding_max(times),
        per_second=[per_second.get(s, 0) for s in range(int(span) + 1)],
    )


def worker_env(
    folder: Path, database_url: str, redis: str, graph_url: str, queue: str
) -> dict[str, str]:
    """The environment of every worker process."""
    inherited = {k: v for k, v in os.environ.items() if not k.startswith(("KLIQS_", "WHATSAPP_"))}
    return {
        **inherited,
        "PYTHONPATH": str(REPO),
        "KLIQS_DATA_DIR": str(folder / "data"),
        "KLIQS_API_KEY": "unused-by-this-bench",
        "KLIQS_BROKER_URL": redis,
        "KLIQS_CONNECTOR_DATABASE_URL": database_url,
        "KLIQS_CONNECTOR_QUEUE": queue,
        "KLIQS_CONNECTOR_PLUGINS": "whatsapp",
        "WHATSAPP_PHONE_NUMBER_ID": f"bench{uuid.uuid4().hex[:10]}",  # a bucket of its own
        "WHATSAPP_ACCESS_TOKEN": TOKEN,
        "WHATSAPP_APP_SECRET": "bench-secret",
        "WHATSAPP_VERIFY_TOKEN": "bench-verify",
        "WHATSAPP_TEMPLATE_NAME": "produk_baru",
        "WHATSAPP_GRAPH_URL": graph_url,
        "WHATSAPP_MPS": str(MPS),
    }


def start_workers(folder: Path, env: dict[str, str]) -> list[subprocess.Popen[bytes]]:
    """BENCH_WORKERS worker processes (logging warnings only, as per-task lines cost CPU)."""
    command = [sys.executable, "-m", "kliqs_core.connector", "worker", "--concurrency",
               str(CONCURRENCY), "--pool", POOL, "--loglevel", "WARNING"]  # fmt: skip
    workers = []
    for n in range(WORKERS):
        with open(folder / f"worker-{n}.log", "wb") as log:
            workers.append(subprocess.Popen(command, env=env, cwd=REPO, stdout=log,
                                            stderr=subprocess.STDOUT, start_new_session=True))
    return workers


def wait_ready(workers: list[subprocess.Popen[bytes]], folder: Path) -> None:
    """Until every worker answers a remote-control ping (Redis has the fanout it needs)."""
    from kliqs_core.connector.celery_app import celery_app

    deadline = time.monotonic() + 90
    while time.monotonic() < deadline:
        if any(w.poll() is not None for w in workers):
            break
        if len(celery_app.control.ping(timeout=1.0)) >= len(workers):
            return
    stop(workers)
    logs = [(folder / f"worker-{n}.log").read_text(errors="replace") for n in range(WORKERS)]
    raise SystemExit("workers did not start:\n" + "\n".join(logs))


def stop(workers: list[subprocess.Popen[bytes]]) -> None:
    """SIGTERM, then SIGKILL, each worker's process group."""
    for sig in (signal.SIGTERM, signal.SIGKILL):
        for worker in workers:
            try:
                os.killpg(worker.pid, sig)
            except ProcessLookupError:
                pass
        time.sleep(1 if sig == signal.SIGTERM else 0)
    for worker in workers:
        worker.wait(10)


def configure(env: dict[str, str]) -> None:
    """This process' Celery app on the workers' broker and queue."""
    from kliqs_core.connector import runtime
    from kliqs_core.connector.celery_app import configure_celery
    from kliqs_core.connector.settings import ConnectorSettings

    settings = ConnectorSettings(broker_url=env["KLIQS_BROKER_URL"],
                                 connector_queue=env["KLIQS_CONNECTOR_QUEUE"])  # fmt: skip
    runtime.set_settings(settings)
    configure_celery(settings)


def queue_sends(delivery_ids: list[int]) -> float:
    """Queue one send task per delivery, as the notify step does; seconds it took."""
    from integrations.whatsapp_bot.tasks import send_delivery_task
    from kliqs_core.connector.celery_app import celery_app

    started = time.monotonic()
    with celery_app.producer_or_acquire() as producer:  # one connection for the whole batch
        for delivery_id in delivery_ids:
            send_delivery_task.apply_async(args=(delivery_id,), producer=producer)
    return time.monotonic() - started


def wait_delivered(
    standin: WhatsAppStandin, count: int, workers: list[subprocess.Popen[bytes]]
) -> None:
    """Until ``count`` messages arrived, or nothing arrived for 20 s."""
    last, last_change = -1, time.monotonic()
    while len(standin.messages) < count:
        now = len(standin.messages)
        if now != last:
            last, last_change = now, time.monotonic()
        if time.monotonic() - last_change > 20 or any(w.poll() is not None for w in workers):
            print(f"stalled at {now}/{count} messages", file=sys.stderr)
            return
        time.sleep(0.2)
    time.sleep(1.0)  # anything more (a duplicate) would arrive now


def report(result: Result, subscribers: int) -> bool:
    """Print the numbers; True when every check passes."""
    from integrations.whatsapp_bot.settings import load_settings

    settings = load_settings(_env_file=None, phone_number_id="-", access_token="-",
                             app_secret="-", verify_token="-", mps=MPS)  # fmt: skip
    burst = settings.bucket_capacity
    ceiling = MPS
    checks = {
        f"every sliding 1 s window <= mps ({ceiling:.0f})": (
            result.busiest_window <= ceiling
        ),
        f"rate >= {FLOOR:.0%} of mps ({FLOOR * MPS:.1f}/s)": result.rate >= FLOOR * MPS,
        "each subscriber exactly once": result.recipients == subscribers and result.duplicates == 0,
    }
    print(f"\nWhatsApp send rate: {WORKERS} workers x {CONCURRENCY} ({POOL}), shared Redis bucket")
    print(f"  WHATSAPP_MPS={MPS}: bucket refills at {settings.send_rate:.1f}/s "
          f"({settings.headroom:.0%} headroom), burst {burst:.0f}; {subscribers} subscribers")
    print(f"  delivered {result.delivered} to {result.recipients} recipients in "
          f"{result.seconds:.2f} s: {result.rate:.1f} msg/s ({result.rate / MPS:.1%} of {MPS})")
    print(f"  busiest sliding 1 s window: {result.busiest_window} (limit {ceiling:.0f})")
    print(f"  per second from the first message: {result.per_second}")
    print(f"  duplicates {result.duplicates}, Graph API errors {result.errors}")
    for name, ok in checks.items():
        print(f"  [{'ok' if ok else 'FAIL'}] {name}")
    return all(checks.values())


def main() -> int:
    """Run the benchmark; exit status 1 when a check fails."""
    redis = os.environ.get("KLIQS_TEST_REDIS_URL")
    if not redis:
        raise SystemExit("needs Redis: run bench/whatsapp/run (it sources scripts/services)")
    folder = Path(tempfile.mkdtemp(prefix="kliqs-wa-bench-"))
    subscribers = MPS * SECONDS
    database = make_database(folder)
    workers: list[subprocess.Popen[bytes]] = []
    try:
        ids = seed(database, subscribers, now=datetime.now(UTC))
        with WhatsAppStandin(access_token=TOKEN) as standin:
            queue = f"wa-bench-{uuid.uuid4().hex[:8]}"
            env = worker_env(folder, database, redis, standin.url, queue)
            configure(env)
            workers = start_workers(folder, env)
            wait_ready(workers, folder)
            queued_in = queue_sends(ids)
            print(f"queued {len(ids)} send tasks in {queued_in:.2f} s")
            wait_delivered(standin, subscribers, workers)
            result = measure(standin)
        return 0 if report(result, subscribers) else 1
    finally:
        stop(workers)
        drop_database(database)
        if os.environ.get("BENCH_KEEP") == "1":
            print(f"kept {folder}")
        else:
            shutil.rmtree(folder, ignore_errors=True)


if __name__ == "__main__":
    sys.exit(main())
