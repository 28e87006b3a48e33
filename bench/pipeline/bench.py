"""The connector pipeline benchmark: webhook acknowledgement latency and end-to-end throughput.

For each mode (``embedded``: SQLite + the SQLAlchemy broker; ``redis``: Redis broker +
PostgreSQL connector database) it starts, as separate processes: a Kliqs API (the fast
stand-in in this folder, or the real ``kliqs serve`` with ``--kliqs server``), the WooCommerce
stand-in, ``kliqs connect`` with the woocommerce plug-in, and the Celery workers. Deliveries
are signed ``product.created`` webhooks in WooCommerce's encoding, one connection each as
Hookshot sends them.

1. **end to end**: PRODUCTS deliveries from CONCURRENCY senders back to back while the workers
   (warmed up, idle) run them as they arrive ("workers on it"); products/s = PRODUCTS /
   (first send -> last product notified).
2. **ack**: workers stopped; PRODUCTS deliveries saturating the web process (CONCURRENCY
   always in flight), then RATE deliveries per second for 5 s from the same senders.
3. **drain**: workers started on the queue phase 2 left; once every worker is ready and the
   first product is done, PRODUCTS more deliveries saturating the web process while the
   workers are busy ("workers busy"); first to last product done.

First, for reference, the same saturating load on a do-nothing Starlette endpoint
(``floor_app.py``): what any Python web app costs on this machine before it does anything.

CPU time per product is read from /proc for each process tree (worker pools included), so
the cost is visible apart from what other load on the machine takes. Finally the books: one
link per product on the Kliqs side, one PUT per product in the shop, all notified.
Run it with ``bench/pipeline/run`` (``--help`` for the knobs).
"""

from __future__ import annotations

import argparse
import os
import shutil
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from contextlib import ExitStack, contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import requests

from harness import (
    HERE,
    SECRET,
    Burst,
    ConnectorStack,
    cpu_seconds,
    delivery,
    free_port,
    kliqs_api,
    notified,
    postgres_cpu,
    process,
    seed_shop,
    send_burst,
    wait_notified,
    waited_for_cpu,
)

WAITED = "waited"  # the web process' threads runnable but not running (not CPU used)
BUSINESS_LINKS = 500  # the largest plan's link limit (one account, one key per connector)
TARGETS = {"ack_p99_ms": 50.0, "embedded_pps": 50.0, "redis_pps": 200.0}
PRODUCTION_TIMINGS = {  # the defaults: no sweeper copies while a long queue drains
    "KLIQS_CONNECTOR_SWEEP_INTERVAL": "30",
    "KLIQS_CONNECTOR_SWEEP_GRACE": "120",
    "KLIQS_CONNECTOR_LEASE_SECONDS": "300",
    "KLIQS_CONNECTOR_RETRY_BASE": "1",
    "KLIQS_CONNECTOR_WORKER_NICE": os.environ.get("BENCH_WORKER_NICE", "10"),
}
if "BENCH_PUBLISH_BATCH" in os.environ:  # for A/B runs; else the connector's default
    PRODUCTION_TIMINGS["KLIQS_CONNECTOR_PUBLISH_BATCH"] = os.environ["BENCH_PUBLISH_BATCH"]


@dataclass(frozen=True)
class Mode:
    """One configuration under test."""

    name: str  # "embedded" or "redis"
    workers: int
    concurrency: int
    pool: str


@contextmanager
def backend(mode: Mode) -> Iterator[tuple[str | None, str | None]]:
    """(broker URL, connector database URL): ``embedded`` SQLite + SQLAlchemy broker;
    ``redis`` Redis + PostgreSQL (the scale-out set-up); ``redis-sqlite`` Redis + SQLite."""
    redis = os.environ.get("KLIQS_TEST_REDIS_URL", "redis://127.0.0.1:6379/15")
    if mode.name != "redis":
        yield (redis if mode.name == "redis-sqlite" else None), None
        return
    from kliqs_testing.databases import postgres_database

    database = postgres_database()
    try:
        yield redis, database.url
    finally:
        database.drop()


def shop_books(shop_url: str) -> tuple[int, int]:
    """(PUT requests, distinct products PUT) the shop stand-in received."""
    puts = [r["path"] for r in requests.get(f"{shop_url}/__standin/requests", timeout=60).json()
            if r["method"] == "PUT"]  # fmt: skip
    return len(puts), len(set(puts))


@dataclass
class Rig:
    """The processes of one mode and how to reach them."""

    mode: Mode
    stack: ConnectorStack
    shop_url: str
    kliqs_url: str
    kliqs_pid: int
    shop_pid: int
    web_pid: int
    workers: list[subprocess.Popen[bytes]]
    stored: int = 0  # products delivered so far (all end notified)

    def start_workers(self, timeout: float = 60) -> None:
        """Start the workers; return once each consumes (Celery logs ``ready.``), so that no
        worker is still importing, a second of CPU, during a measured burst."""
        logs, self.workers = [], []
        for _ in range(self.mode.workers):
            logs.append(self.stack.log_path("worker", len(self.stack.processes)))
            self.workers.append(self.stack.start_worker(concurrency=self.mode.concurrency,
                                                        pool=self.mode.pool))  # fmt: skip
        deadline = time.monotonic() + timeout
        while not all(" ready." in log.read_text(errors="replace") for log in logs):
            if time.monotonic() > deadline:
                raise TimeoutError(f"workers not ready:\n{self.stack.logs()}")
            time.sleep(0.05)

    def stop_workers(self) -> None:
        for worker in self.workers:
            ConnectorStack.kill(worker)

    def cpu(self) -> dict[str, float]:
        return cpu_seconds({
            "workers": [w.pid for w in self.workers], "web": [self.web_pid],
            "shop": [self.shop_pid], "kliqs": [self.kliqs_pid],
        })  # fmt: skip

    def burst_cpu(self) -> dict[str, float]:
        """`cpu` plus PostgreSQL's processes and this one (the senders), for a burst's window."""
        used = self.cpu() | {"senders": time.process_time()}
        used[WAITED] = waited_for_cpu(self.web_pid)
        if self.mode.name == "redis":
            used["postgres"] = postgres_cpu()
        return used

    def deliveries(self, count: int, first_id: int) -> list[bytes]:
        self.stored += count
        port = self.stack.port
        return [delivery(p, "127.0.0.1", port) for p in seed_shop(self.shop_url, count, first_id)]


def run_mode(mode: Mode, args: argparse.Namespace) -> dict[str, Any]:
    """Start everything for ``mode``, measure, check the books, stop everything."""
    with ExitStack() as stack_of:
        folder = Path(tempfile.mkdtemp(prefix=f"kliqs-bench-{mode.name}-"))
        if os.environ.get("BENCH_KEEP") == "1":
            print(f"  (BENCH_KEEP=1: logs and databases kept in {folder})")
        else:
            stack_of.callback(shutil.rmtree, folder, ignore_errors=True)
        kliqs = stack_of.enter_context(kliqs_api(args.kliqs, folder))
        shop_port = free_port()
        shop_url = f"http://127.0.0.1:{shop_port}"
        shop = stack_of.enter_context(process(
            [sys.executable, str(HERE / "shop_standin.py"), "--port",
             str(shop_port)],
            folder / "shop.log", f"{shop_url}/__standin/requests"))  # fmt: skip
        broker, database = stack_of.enter_context(backend(mode))
        stack = ConnectorStack(folder / "stack", kliqs.url, kliqs.key, shop_url, SECRET, broker_url=broker,
                               database_url=database, extra_env=PRODUCTION_TIMINGS)  # fmt: skip
        stack_of.callback(stack.stop)
        rig = Rig(mode, stack, shop_url, kliqs.url, kliqs.pid, shop.pid, 0, [])
        rig.start_workers()
        rig.web_pid = stack.start_connector().pid
        result: dict[str, Any] = {"mode": mode}
        result.update(phase_end_to_end(rig, args))
        rig.stop_workers()
        result.update(phase_ack(rig, args))
        result.update(phase_drain(rig, args))
        puts, distinct = shop_books(shop_url)
        links = kliqs.count_links()
        result["books_ok"] = puts == distinct == links == rig.stored
        result["books"] = f"{rig.stored} notified, {puts} PUTs for {distinct} products, links {links}"
        return result


def phase_end_to_end(rig: Rig, args: argparse.Namespace) -> dict[str, Any]:
    """Warm up, then PRODUCTS deliveries with the workers running, until all are notified."""
    port = rig.stack.port
    send_burst(rig.deliveries(args.warmup, 1), port, args.concurrency)
    wait_notified(rig.stack, rig.stored, 120)
    raw = rig.deliveries(args.products, 10_001)
    before, window, started = rig.cpu(), rig.burst_cpu(), time.perf_counter()
    loaded = send_burst(raw, port, args.concurrency)
    loaded_cpu = _per_product(window, rig.burst_cpu(), args.products)
    finished = wait_notified(rig.stack, rig.stored, args.timeout)
    used = _per_product(before, rig.cpu(), args.products)
    return {"pps": args.products / (finished - started), "loaded": loaded, "e2e_cpu": used,
            "loaded_cpu": loaded_cpu}


def phase_ack(rig: Rig, args: argparse.Namespace) -> dict[str, Any]:
    """The web process alone: saturated by CONCURRENCY senders, then paced at RATE."""
    port = rig.stack.port
    raw, before = rig.deliveries(args.products, 50_001), rig.burst_cpu()
    saturated = send_burst(raw, port, args.concurrency)
    saturated_cpu = _per_product(before, rig.burst_cpu(), args.products)
    paced = send_burst(rig.deliveries(int(args.rate * 5), 80_001), port, args.concurrency,
                       rate=args.rate)  # fmt: skip
    return {"ack_only": saturated, "paced": paced, "ack_only_cpu": saturated_cpu}


def phase_drain(rig: Rig, args: argparse.Namespace) -> dict[str, Any]:
    """Start the workers on the queue the ack phase left; once they are busy, a saturating
    burst of PRODUCTS more deliveries (acks while the workers certainly run); time from the
    first product done to the last."""
    done_before = notified(rig.stack)
    raw = rig.deliveries(args.products, 90_001)  # the shop seeded before the clock starts
    rig.start_workers()
    while notified(rig.stack) == done_before:  # workers still starting
        time.sleep(0.01)
    first_done, before = notified(rig.stack), rig.cpu()
    started, window = time.perf_counter(), rig.burst_cpu()
    busy = send_burst(raw, rig.stack.port, args.concurrency)
    busy_cpu = _per_product(window, rig.burst_cpu(), args.products)
    finished = wait_notified(rig.stack, rig.stored, args.timeout)
    count = rig.stored - first_done
    return {"drain_pps": count / (finished - started), "busy": busy, "busy_cpu": busy_cpu,
            "drain_cpu": _per_product(before, rig.cpu(), count)}  # fmt: skip


def _per_product(before: dict[str, float], after: dict[str, float], count: int) -> dict[str, float]:
    """CPU milliseconds per product by component."""
    return {name: (after[name] - before.get(name, 0.0)) * 1000 / count for name in after}


def report(result: dict[str, Any], args: argparse.Namespace) -> None:
    """Print one mode's numbers against the targets."""
    mode: Mode = result["mode"]
    target = TARGETS["embedded_pps" if mode.name == "embedded" else "redis_pps"]
    print(f"\n== {mode.name}: {mode.workers} worker(s) x concurrency {mode.concurrency} "
          f"({mode.pool}), {args.products} products, {args.concurrency} concurrent senders")  # fmt: skip
    rows = (
        ("ack, saturated, workers on it", result["loaded"], result["loaded_cpu"]),
        ("ack, saturated, workers busy", result["busy"], result["busy_cpu"]),
        ("ack, saturated, web alone", result["ack_only"], result["ack_only_cpu"]),
        (f"ack, paced {args.rate:.0f}/s, web alone", result["paced"], None),
    )
    for label, burst, used in rows:
        p99 = burst.percentile(0.99)
        mark = "ok" if p99 <= TARGETS["ack_p99_ms"] else "MISSED"
        print(f"  {label:<32} p50 {burst.percentile(0.5):6.1f} ms  p99 {p99:6.1f} ms  "
              f"{len(burst.latencies_ms) / burst.seconds:5.0f} acks/s  {burst.statuses}  "
              f"[p99 <= 50 ms: {mark}]{_pause(burst) if used else ''}")  # fmt: skip
        if used:
            print(f"  {'':<32} CPU per webhook in the burst {_cpu_line(used)}")
    mark = "ok" if result["pps"] >= target else "MISSED"
    print(f"  {'end to end (webhook -> notified)':<32} {result['pps']:6.1f} products/s  "
          f"[>= {target:.0f}: {mark}]   CPU/product {_cpu_line(result['e2e_cpu'])}")
    print(f"  {'workers draining a full queue':<32} {result['drain_pps']:6.1f} products/s  "
          f"           CPU/product {_cpu_line(result['drain_cpu'])}")
    print(f"  books: {result['books']}  -> {'ok' if result['books_ok'] else 'WRONG'}")


def _pause(burst: Burst) -> str:
    """A saturated burst's longest pause between two answers (paced ones pause by design)."""
    return f"  longest pause {burst.longest_pause_ms():.0f} ms"


def _cpu_line(used: dict[str, float]) -> str:
    used = dict(used)
    waited = used.pop(WAITED, None)
    parts = "  ".join(f"{name} {ms:.1f}" for name, ms in used.items())
    line = f"{sum(used.values()):.1f} ms ({parts})"
    return line if waited is None else f"{line}; the web waited for a CPU {waited:.2f} ms"


def floor(args: argparse.Namespace) -> Burst:
    """The same saturating load on a do-nothing endpoint (``floor_app.py``)."""
    port = free_port()
    with tempfile.TemporaryDirectory(prefix="kliqs-bench-floor-") as folder, process(
        [sys.executable, str(HERE / "floor_app.py"), str(port)], Path(folder) / "floor.log",
        f"http://127.0.0.1:{port}/healthz",
    ):  # fmt: skip
        products = [{"id": n, "name": f"Produk {n}", "permalink": "https://toko.example/"}
                    for n in range(1, args.products + 1)]  # fmt: skip
        return send_burst([delivery(p, "127.0.0.1", port) for p in products], port,
                          args.concurrency)  # fmt: skip


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawTextHelpFormatter)
    parser.add_argument("--modes", default="embedded,redis",
                        help="embedded, redis (Redis + PostgreSQL), redis-sqlite")
    parser.add_argument("--products", type=int, default=int(os.environ.get("BENCH_PRODUCTS", 600)))
    parser.add_argument("--concurrency", type=int, default=50, help="concurrent deliveries")
    parser.add_argument("--warmup", type=int, default=20)
    parser.add_argument("--rate", type=float, default=100.0,
                        help="offered deliveries per second in the paced ack phase (5 s)")
    parser.add_argument("--kliqs", choices=["standin", "server"], default="standin")
    parser.add_argument("--embedded-workers", default="1x4:threads",
                        help="worker processes x concurrency:pool for embedded")
    parser.add_argument("--redis-workers", default="2x4:threads",
                        help="worker processes x concurrency:pool with Redis")
    parser.add_argument("--timeout", type=float, default=300)
    args = parser.parse_args()
    total = args.warmup + 3 * args.products + int(args.rate * 5)
    if args.kliqs == "server" and total > BUSINESS_LINKS:
        parser.error(f"--kliqs server makes {total} links per mode, more than a Business "
                     f"account holds ({BUSINESS_LINKS}); try --products 100 --rate 30")
    print(f"pipeline bench: Kliqs = {args.kliqs}, {os.cpu_count()} CPUs, "
          f"load average {os.getloadavg()[0]:.1f}")  # fmt: skip
    base = floor(args)
    print(f"\nfloor: a do-nothing Starlette endpoint, {args.concurrency} senders saturating it: "
          f"p50 {base.percentile(0.5):.1f} ms  p99 {base.percentile(0.99):.1f} ms  "
          f"{len(base.latencies_ms) / base.seconds:.0f} acks/s")  # fmt: skip
    failed = False
    for name in args.modes.split(","):
        spec = getattr(args, f"{name.split('-')[0]}_workers")
        count, rest = spec.split("x")
        concurrency, pool = rest.split(":")
        result = run_mode(Mode(name, int(count), int(concurrency), pool), args)
        report(result, args)
        failed |= not result["books_ok"]
    print(f"\nload average after: {os.getloadavg()[0]:.1f}")
    sys.exit(1 if failed else 0)


if __name__ == "__main__":
    main()
