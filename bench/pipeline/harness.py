"""The pieces of the pipeline benchmark: processes, stand-ins, load, CPU accounting.

See ``bench.py`` for what is measured; this module knows how to start things, send Hookshot
deliveries at a concurrency or a pace, and read how much CPU each process tree used.
"""

from __future__ import annotations

import asyncio
import gc
import os
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, cast

REPO = Path(__file__).resolve().parents[2]
sys.path[:0] = [str(REPO), str(REPO / "tests")]

import requests  # noqa: E402
from sqlalchemy import func, select, text  # noqa: E402

from kliqs_core.connector.models import Product  # noqa: E402
from tests.integrations.woocommerce.woo_stack import ConnectorStack, free_port  # noqa: E402
from tests.standins.woocommerce_hookshot import USER_AGENT, signature_for  # noqa: E402
from tests.standins.woocommerce_standin import wp_json_encode  # noqa: E402

SECRET = "bench-webhook-secret"
HERE = Path(__file__).resolve().parent


@dataclass(frozen=True)
class Burst:
    """What one burst of deliveries measured."""

    latencies_ms: list[float]
    statuses: dict[int, int]
    seconds: float
    #: When each answer arrived (perf_counter seconds), in arrival order.
    answered_at: list[float] = field(default_factory=list)

    def percentile(self, q: float) -> float:
        ordered = sorted(self.latencies_ms)
        return ordered[min(len(ordered) - 1, int(q * len(ordered)))]

    def longest_pause_ms(self) -> float:
        """The longest time between two answers: with 50 in flight, a stall of the server
        (or of the whole machine) shows here as one gap, where slow handling is spread out."""
        gaps = [b - a for a, b in zip(self.answered_at, self.answered_at[1:], strict=False)]
        return max(gaps, default=0.0) * 1000


def spawn(args: list[str], log: Path, env: dict[str, str] | None = None) -> subprocess.Popen[bytes]:
    """A child process in its own session, output to ``log``."""
    with open(log, "wb") as out:
        return subprocess.Popen(args, cwd=REPO, stdout=out, stderr=subprocess.STDOUT, env=env,
                                start_new_session=True)  # fmt: skip


def wait_http(url: str, timeout: float = 60) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            requests.get(url, timeout=1)
            return
        except requests.RequestException:
            time.sleep(0.1)
    raise TimeoutError(url)


@contextmanager
def process(args: list[str], log: Path, ready_url: str,
            env: dict[str, str] | None = None) -> Iterator[subprocess.Popen[bytes]]:  # fmt: skip
    proc = spawn(args, log, env)
    try:
        wait_http(ready_url)
        yield proc
    finally:
        ConnectorStack.kill(proc)


@dataclass(frozen=True)
class KliqsApi:
    """The Kliqs API under the benchmark: URL, key, process id, and how to count its links."""

    url: str
    key: str
    pid: int
    count_links: Callable[[], int]


@contextmanager
def kliqs_api(kind: str, folder: Path) -> Iterator[KliqsApi]:
    """The fast stand-in, or ``kliqs serve`` (SQLite) with a Business account."""
    port = free_port()
    if kind == "standin":
        url = f"http://127.0.0.1:{port}"
        with process([sys.executable, str(HERE / "kliqs_standin.py"), "--port",
                      str(port)], folder / "kliqs.log", f"{url}/healthz") as proc:  # fmt: skip
            yield KliqsApi(url, "kliqs_sk_live_bench", proc.pid, lambda: int(
                requests.get(f"{url}/__standin/stats", timeout=10).json()["links"]))
        return
    from kliqs_testing.databases import make_database
    from kliqs_testing.servers import ProcessServer

    # The per-key burst limit (20/s) would be the benchmark otherwise: raised, and said so.
    server = ProcessServer(make_database("sqlite", folder), folder,
                           env={"KLIQS_BURST_LIMIT": "100000"}).start()  # fmt: skip
    try:
        account = server.new_account("business")
        assert server.proc is not None

        def count_links() -> int:
            with server.engine.connect() as conn:
                return int(conn.execute(text("SELECT count(*) FROM links WHERE account_id = :a"),
                                        {"a": account.id}).scalar_one())  # fmt: skip

        yield KliqsApi(server.url, account.key, server.proc.pid, count_links)
    finally:
        server.stop()


_TICK = os.sysconf("SC_CLK_TCK")


def _proc_stats() -> dict[int, tuple[int, float]]:
    """pid -> (parent pid, CPU seconds of the process and its reaped children)."""
    stats: dict[int, tuple[int, float]] = {}
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            fields = (entry / "stat").read_text().rsplit(")", 1)[1].split()
        except OSError:
            continue  # exited meanwhile
        utime, stime, cutime, cstime = (int(f) for f in fields[11:15])
        stats[int(entry.name)] = (int(fields[1]), (utime + stime + cutime + cstime) / _TICK)
    return stats


def cpu_seconds(roots: dict[str, list[int]]) -> dict[str, float]:
    """CPU seconds used so far by each named group of process trees (pool children too)."""
    stats = _proc_stats()
    children: dict[int, list[int]] = {}
    for pid, (ppid, _) in stats.items():
        children.setdefault(ppid, []).append(pid)
    totals: dict[str, float] = {}
    for name, pids in roots.items():
        todo, total = list(pids), 0.0
        while todo:
            pid = todo.pop()
            total += stats.get(pid, (0, 0.0))[1]
            todo.extend(children.get(pid, []))
        totals[name] = total
    return totals


def postgres_cpu() -> float:
    """CPU seconds used so far by every ``postgres`` process on the machine."""
    total = 0
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            if (entry / "comm").read_text().startswith("postgres"):
                fields = (entry / "stat").read_text().rsplit(")", 1)[1].split()
                total += sum(int(f) for f in fields[11:15])
        except OSError:
            continue
    return total / _TICK


def waited_for_cpu(pid: int) -> float:
    """Seconds the threads of ``pid`` have spent runnable but waiting for a CPU (schedstat)."""
    total = 0
    for task in Path(f"/proc/{pid}/task").iterdir():
        try:
            total += int((task / "schedstat").read_text().split()[1])
        except (OSError, IndexError):
            continue  # exited meanwhile
    return total / 1e9


def seed_shop(shop_url: str, count: int, start_id: int) -> list[dict[str, Any]]:
    """Add ``count`` published products to the WooCommerce stand-in."""
    with requests.Session() as session:
        return [session.post(f"{shop_url}/__standin/products", timeout=30,
                             json={"id": start_id + n, "name": f"Produk Bench {start_id + n}"}).json()
                for n in range(count)]  # fmt: skip


def delivery(product: dict[str, Any], host: str, port: int) -> bytes:
    """One Hookshot request, byte for byte (HTTP/1.0-style: a connection per delivery)."""
    body = wp_json_encode(product)
    head = (
        f"POST /webhooks/woocommerce HTTP/1.1\r\nHost: {host}:{port}\r\nUser-Agent: {USER_AGENT}\r\n"
        "Content-Type: application/json\r\nConnection: close\r\n"
        "X-WC-Webhook-Source: https://toko-contoh.example/\r\nX-WC-Webhook-Topic: product.created\r\n"
        "X-WC-Webhook-Resource: product\r\nX-WC-Webhook-Event: created\r\n"
        f"X-WC-Webhook-Signature: {signature_for(body, SECRET)}\r\nX-WC-Webhook-ID: 1\r\n"
        f"X-WC-Webhook-Delivery-ID: bench-{product['id']}\r\nContent-Length: {len(body)}\r\n\r\n"
    )
    return head.encode() + body


class _Delivery(asyncio.Protocol):
    """One delivery on a connection of its own: write the request, keep the first bytes of the
    answer, done when the server closes (it answers ``Connection: close`` requests so).

    A protocol rather than asyncio's streams: the senders share the machine with what they
    measure, and streams cost them about a third more CPU per delivery."""

    def __init__(self, raw: bytes, done: asyncio.Future[bytes]) -> None:
        self._raw = raw
        self._done = done
        self._head = b""

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        cast(asyncio.Transport, transport).write(self._raw)

    def data_received(self, data: bytes) -> None:
        if not self._head:
            self._head = data

    def connection_lost(self, exc: Exception | None) -> None:
        if not self._done.done():
            self._done.set_result(self._head)


async def _send_all(requests_: list[bytes], host: str, port: int, concurrency: int,
                    rate: float | None) -> Burst:  # fmt: skip
    """Send with ``concurrency`` senders, back to back, or paced at ``rate`` per second.

    Paced latency counts from each delivery's scheduled time, so a server falling behind
    shows as latency rather than as a slower schedule (no coordinated omission).
    """
    loop = asyncio.get_running_loop()
    pending = iter(enumerate(requests_))
    latencies: list[float] = []
    answered_at: list[float] = []
    statuses: dict[int, int] = {}
    begin = time.perf_counter()

    async def sender() -> None:
        for number, raw in pending:
            started = time.perf_counter()
            if rate is not None:
                started = begin + number / rate
                await asyncio.sleep(max(0.0, started - time.perf_counter()))
            done: asyncio.Future[bytes] = loop.create_future()
            await loop.create_connection(lambda: _Delivery(raw, done), host, port)  # noqa: B023
            answer = await done
            answered_at.append(time.perf_counter())
            latencies.append((answered_at[-1] - started) * 1000)
            status = int(answer.split(b" ", 2)[1]) if answer else 0
            statuses[status] = statuses.get(status, 0) + 1

    await asyncio.gather(*(sender() for _ in range(concurrency)))
    return Burst(latencies, statuses, time.perf_counter() - begin, answered_at)


def send_burst(requests_: list[bytes], port: int, concurrency: int,
               rate: float | None = None) -> Burst:  # fmt: skip
    """Deliver ``requests_`` from ``concurrency`` concurrent senders (see `_send_all`).

    The senders' own garbage collector is off meanwhile: a full collection over what the
    bench holds (thousands of seeded products) paused every sender at once, which showed
    as 50 deliveries slower than 60 ms in a burst whatever the server did.
    """
    gc.collect()
    gc.disable()
    try:
        return asyncio.run(_send_all(requests_, "127.0.0.1", port, concurrency, rate))
    finally:
        gc.enable()


def notified(stack: ConnectorStack) -> int:
    """How many products are done."""
    with stack.database.transaction() as session:
        return int(session.scalar(select(func.count()).where(Product.state == "notified")) or 0)


def stopped(stack: ConnectorStack) -> dict[str, int]:
    """Failed or parked products by error code: the run is wrong, stop measuring."""
    with stack.database.transaction() as session:
        rows = session.execute(
            select(Product.last_error_code, func.count())
            .where(Product.state.in_(("failed", "parked")))
            .group_by(Product.last_error_code)
        )
        return {str(code): int(count) for code, count in rows}


def wait_notified(stack: ConnectorStack, count: int, timeout: float) -> float:
    """Poll until ``count`` products are notified; returns the monotonic time it happened."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if notified(stack) >= count:
            return time.perf_counter()
        time.sleep(0.02)
        if (problems := stopped(stack)):
            raise RuntimeError(f"products stopped with errors {problems}; see {stack.folder}")
    raise TimeoutError(f"only {notified(stack)} of {count} products notified:\n{stack.logs()}")
