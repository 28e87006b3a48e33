"""Link creations per second over real HTTP: one ``kliqs serve`` worker, SQLite and PostgreSQL.

Each request does auth, monthly quota, burst limit, validation and the insert, spread over many
Business accounts (so real plan limits apply). The baseline, measured in the same run on the
same server, is ``GET /healthz``: the cost of the framework alone. After the load the bench
checks exactness: links stored == requests counted in usage, and == 2xx answers within
the requests wrk left in flight.
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
import time
import uuid
from pathlib import Path

import httpx
from sqlalchemy import create_engine, func, select, text

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT))

from server.config import Settings  # noqa: E402
from server.db.engine import make_engine  # noqa: E402
from server.db.models import Link, Usage  # noqa: E402
from server.services import accounts  # noqa: E402

HERE = Path(__file__).resolve().parent
KLIQS = str(Path(sys.executable).with_name("kliqs"))
TARGET_SQLITE_PER_S = 1500


def free_port() -> int:
    import socket

    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def database_url(backend: str, folder: Path) -> str:
    if backend == "sqlite":
        return f"sqlite:///{folder / 'kliqs.sqlite'}"
    admin = os.environ["KLIQS_TEST_PG_URL"].replace("postgresql://", "postgresql+psycopg://")
    name = f"kliqs_bench_{uuid.uuid4().hex[:8]}"
    engine = create_engine(admin, isolation_level="AUTOCOMMIT")
    with engine.connect() as conn:
        conn.execute(text(f'CREATE DATABASE "{name}"'))
    engine.dispose()
    return admin.rsplit("/", 1)[0] + f"/{name}"


def start_server(url: str, folder: Path, port: int) -> subprocess.Popen[bytes]:
    env = {**os.environ, "KLIQS_DATA_DIR": str(folder), "KLIQS_DATABASE_URL": url,
           "KLIQS_PUBLIC_BASE_URL": f"http://127.0.0.1:{port}", "KLIQS_LOG_LEVEL": "warning"}
    proc = subprocess.Popen([KLIQS, "serve", "--port", str(port)], env=env,
                            stdout=subprocess.DEVNULL, stderr=(folder / "server.log").open("wb"))
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        try:
            if httpx.get(f"http://127.0.0.1:{port}/healthz", timeout=1).status_code == 200:
                return proc
        except httpx.HTTPError:
            time.sleep(0.1)
    proc.kill()
    raise SystemExit("server did not start: " + (folder / "server.log").read_text())


def make_keys(settings: Settings, count: int, path: Path) -> None:
    engine = make_engine(settings)
    keys = []
    with engine.begin() as conn:
        for i in range(count):
            account_id = accounts.create_account(conn, f"bench{i}@toko.example", plan="business")
            keys.append(accounts.create_key(conn, account_id, "bench")[1])
    engine.dispose()
    path.write_text("\n".join(keys) + "\n")


def wrk(url: str, *, script: Path, connections: int, duration: int, keys: Path) -> dict[str, int]:
    out = subprocess.run(
        ["wrk", "-t2", f"-c{connections}", f"-d{duration}s", "--latency", "-s", str(script), url],
        capture_output=True, text=True, check=True, env={**os.environ, "KLIQS_BENCH_KEYS": str(keys)},
    ).stdout
    line = next(line for line in out.splitlines() if line.startswith("JSON "))
    return json.loads(line[5:])


def rss_mb(pid: int) -> float:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) / 1024
    return 0.0


def exactness(settings: Settings) -> tuple[int, int]:
    """Links stored and requests counted, read in ONE statement (one snapshot), after the
    requests wrk left in flight have had time to finish."""
    time.sleep(1)
    engine = make_engine(settings)
    with engine.connect() as conn:
        links, counted = conn.execute(
            select(
                select(func.count()).select_from(Link).scalar_subquery(),
                select(func.coalesce(func.sum(Usage.requests_used), 0)).scalar_subquery(),
            )
        ).one()
    engine.dispose()
    return int(links), int(counted)


def run_backend(backend: str, args: argparse.Namespace) -> dict[str, object]:
    with tempfile.TemporaryDirectory(prefix=f"kliqs-bench-{backend}-") as tmp:
        folder = Path(tmp)
        url = database_url(backend, folder)
        port = free_port()
        proc = start_server(url, folder, port)
        try:
            settings = Settings(data_dir=folder, database_url=url)
            keys = folder / "keys.txt"
            make_keys(settings, args.accounts, keys)
            base = f"http://127.0.0.1:{port}"
            common = {"connections": args.connections, "keys": keys}
            wrk(f"{base}/api/v1/links", script=HERE / "create.lua", duration=2, **common)  # warm-up
            baseline = wrk(f"{base}/healthz", script=HERE / "baseline.lua",
                           duration=args.duration, **common)
            before, _ = exactness(settings)
            created = wrk(f"{base}/api/v1/links", script=HERE / "create.lua",
                          duration=args.duration, **common)
            links, counted = exactness(settings)
            rss = rss_mb(proc.pid)
        finally:
            proc.terminate()
            proc.wait(30)
        ok = created["requests"] - created["non_2xx"] - created["socket_errors"]
        # Answers wrk never counted: timeouts, socket errors, and the requests in flight when
        # it stopped (at most one per connection).
        lost = created["timeouts"] + created["socket_errors"] + args.connections
        return {
            "backend": backend,
            # Only answered creates count: a 4xx/5xx made no link.
            "creates_per_s": ok / args.duration,
            "p50_ms": created["p50_us"] / 1000,
            "p99_ms": created["p99_us"] / 1000,
            "non_2xx": created["non_2xx"],
            "baseline_per_s": baseline["requests"] / args.duration,
            "links_stored": links - before,
            "answered_2xx": ok,
            # Exact: every stored link was counted once, and every 2xx stored one link.
            "exact": counted == links and ok <= links - before <= ok + lost,
            "rss_mb": rss,
        }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--duration", type=int, default=10)
    parser.add_argument("--connections", type=int, default=32)
    parser.add_argument("--accounts", type=int, default=200)
    parser.add_argument("--backends", default="sqlite,postgres")
    args = parser.parse_args()
    results = [run_backend(b, args) for b in args.backends.split(",")]
    print(f"\nlink creations over HTTP, 1 worker, {args.connections} connections, "
          f"{args.duration}s, {args.accounts} Business accounts (creates/s: 2xx answers only)")
    print(f"{'backend':<10}{'creates/s':>11}{'p50 ms':>9}{'p99 ms':>9}{'non-2xx':>9}"
          f"{'/healthz/s':>12}{'ratio':>8}{'RSS MB':>8}  exact")
    for r in results:
        ratio = r["creates_per_s"] / r["baseline_per_s"]
        print(f"{r['backend']:<10}{r['creates_per_s']:>11.0f}{r['p50_ms']:>9.2f}{r['p99_ms']:>9.2f}"
              f"{r['non_2xx']:>9}{r['baseline_per_s']:>12.0f}{ratio:>8.2f}{r['rss_mb']:>8.0f}  "
              f"{'yes' if r['exact'] else 'NO'} ({r['links_stored']} links, {r['answered_2xx']} 2xx)")
    sqlite = [r for r in results if r["backend"] == "sqlite"]
    for r in sqlite:
        met = r["creates_per_s"] >= TARGET_SQLITE_PER_S and r["non_2xx"] == 0
        print(f"[{'ok' if met else 'MISSED'}] >= {TARGET_SQLITE_PER_S} creates/s on SQLite, "
              f"every answer 2xx")
    if not all(r["exact"] for r in results):
        raise SystemExit("quota or link counts were not exact")


if __name__ == "__main__":
    main()
