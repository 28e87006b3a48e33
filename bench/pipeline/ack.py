"""Webhook acknowledgements alone, for comparing two versions of the web path (A/B runs).

Starts the Kliqs and WooCommerce stand-ins and ``kliqs connect`` (no workers), warms up,
then sends REPEAT bursts of PRODUCTS signed deliveries from 50 senders always in flight,
printing per burst: p50, p99, acks/s, and CPU milliseconds per webhook of the web process,
of PostgreSQL (all its processes; redis mode) and of the senders (this process). A stall
that hits every webhook in flight at once shows as "over 60 ms" close to 50.

    . scripts/services
    .venv/bin/python bench/pipeline/ack.py [embedded|redis] [PRODUCTS] [REPEAT]

The numbers of one run vary with the machine's other load: alternate the two versions and
compare the CPU per webhook as much as the latencies.
"""

from __future__ import annotations

import shutil
import sys
import tempfile
import time
from contextlib import ExitStack
from pathlib import Path

from bench import PRODUCTION_TIMINGS, Mode, backend
from harness import (
    HERE,
    SECRET,
    ConnectorStack,
    cpu_seconds,
    delivery,
    free_port,
    kliqs_api,
    postgres_cpu,
    process,
    seed_shop,
    send_burst,
)

def main() -> None:
    mode = sys.argv[1] if len(sys.argv) > 1 else "redis"
    products = int(sys.argv[2]) if len(sys.argv) > 2 else 2000
    repeat = int(sys.argv[3]) if len(sys.argv) > 3 else 3
    folder = Path(tempfile.mkdtemp(prefix="kliqs-bench-ack-"))
    with ExitStack() as stack_of:
        stack_of.callback(shutil.rmtree, folder, ignore_errors=True)
        kliqs = stack_of.enter_context(kliqs_api("standin", folder))
        shop_port = free_port()
        shop_url = f"http://127.0.0.1:{shop_port}"
        stack_of.enter_context(process(
            [sys.executable, str(HERE / "shop_standin.py"), "--port", str(shop_port)],
            folder / "shop.log", f"{shop_url}/__standin/requests"))  # fmt: skip
        broker, database = stack_of.enter_context(backend(Mode(mode, 0, 0, "threads")))
        stack = ConnectorStack(folder / "stack", kliqs.url, kliqs.key, shop_url, SECRET,
                               broker_url=broker, database_url=database,
                               extra_env=PRODUCTION_TIMINGS)  # fmt: skip
        stack_of.callback(stack.stop)
        web = stack.start_connector().pid
        next_id = 1

        def burst(count: int) -> None:
            nonlocal next_id
            raw = [delivery(p, "127.0.0.1", stack.port)
                   for p in seed_shop(shop_url, count, next_id)]  # fmt: skip
            next_id += count
            before = (cpu_seconds({"web": [web]})["web"], postgres_cpu(), time.process_time())
            result = send_burst(raw, stack.port, 50)
            after = (cpu_seconds({"web": [web]})["web"], postgres_cpu(), time.process_time())
            if count < products:
                return  # the warm-up
            used = [(b - a) * 1000 / count for a, b in zip(before, after, strict=True)]
            web_ms, pg_ms, own_ms = used
            slow = sum(1 for ms in result.latencies_ms if ms > 60)
            print(f"{mode}: p50 {result.percentile(0.5):5.1f} ms  "
                  f"p99 {result.percentile(0.99):5.1f} ms  "
                  f"{len(result.latencies_ms) / result.seconds:5.0f} acks/s  CPU ms per webhook: "
                  f"web {web_ms:.2f}  postgres {pg_ms:.2f}  senders {own_ms:.2f}  "
                  f"over 60 ms: {slow}  {result.statuses}", flush=True)  # fmt: skip

        burst(200)
        for _ in range(repeat):
            burst(products)


if __name__ == "__main__":
    main()
