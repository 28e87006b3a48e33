"""The redirect benchmark: ``kliqs serve`` (one worker, clicks recorded) against nginx.

Steps: a fresh SQLite database with LINKS links; ``kliqs serve`` as a user starts it; nginx
in the foreground on a temp config answering ``return 302``; the same wrk load against both
(64 connections for DURATION s, then 1 connection), each request a random existing code;
then SIGTERM to the server and a count of the clicks it stored. Prints req/s, p50, p99, the
worker's RSS, the ratio to nginx, and stored clicks against the requests wrk completed.

Run it with ``bench/redirect/run`` (environment: BENCH_LINKS, BENCH_DURATION, BENCH_THREADS).
"""

from __future__ import annotations

import http.client
import os
import re
import shutil
import signal
import socket
import sqlite3
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path

HERE = Path(__file__).resolve().parent
KLIQS = str(Path(sys.executable).with_name("kliqs"))
LINKS = int(os.environ.get("BENCH_LINKS", "100000"))
DURATION = int(os.environ.get("BENCH_DURATION", "10"))
THREADS = int(os.environ.get("BENCH_THREADS", "2"))
TARGETS = {"ratio": 0.35, "p99_ms": 10.0, "p50_1conn_ms": 0.2, "rss_mb": 80.0}
# A request wrk has in flight when a run ends may be stored without wrk counting it: one per
# connection of each run against kliqs (warm-up and two 64-connection runs, two 1-connection).
IN_FLIGHT_MARGIN = 3 * 64 + 2 * 1

NGINX_CONF = """worker_processes 1;
daemon off;
pid {dir}/nginx.pid;
error_log {dir}/nginx-error.log warn;
events {{ worker_connections 1024; }}
http {{
  access_log off;
  client_body_temp_path {dir}/body; proxy_temp_path {dir}/proxy;
  fastcgi_temp_path {dir}/fastcgi; uwsgi_temp_path {dir}/uwsgi; scgi_temp_path {dir}/scgi;
  server {{ listen 127.0.0.1:{port}; location / {{ return 302 https://example.com/; }} }}
}}
"""


@dataclass(frozen=True)
class WrkResult:
    """What one wrk run reported."""

    requests: int
    rps: float
    p50_ms: float
    p99_ms: float
    errors: str


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def wait_http(port: int, path: str, timeout: float = 60) -> None:
    """Until ``path`` answers (any status; redirects are not followed)."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        conn = http.client.HTTPConnection("127.0.0.1", port, timeout=1)
        try:
            conn.request("GET", path)
            conn.getresponse().read()
            return
        except OSError:
            time.sleep(0.1)
        finally:
            conn.close()
    raise TimeoutError(f"port {port} did not answer")


_UNITS = {"us": 0.001, "ms": 1.0, "s": 1000.0}


def _ms(text: str) -> float:
    value, unit = re.fullmatch(r"([\d.]+)(us|ms|s)", text).groups()  # type: ignore[union-attr]
    return float(value) * _UNITS[unit]


def wrk(url: str, codes: Path, connections: int, duration: int, threads: int,
        pick: str = "uniform") -> WrkResult:
    """One wrk run with random codes (``pick``: ``uniform`` or ``hot``); parsed."""
    out = subprocess.run(
        ["wrk", f"-t{threads}", f"-c{connections}", f"-d{duration}s", "--latency",
         "-s", str(HERE / "pick.lua"), url, "--", str(codes), pick],
        check=True, capture_output=True, text=True,
    ).stdout
    percentiles = dict(re.findall(r"^\s+(\d+)%\s+(\S+)$", out, re.M))
    errors = "; ".join(line.strip() for line in out.splitlines()
                       if "Socket errors" in line or "Non-2xx" in line)
    return WrkResult(
        requests=int(re.search(r"(\d+) requests in", out).group(1)),  # type: ignore[union-attr]
        rps=float(re.search(r"Requests/sec:\s+([\d.]+)", out).group(1)),  # type: ignore[union-attr]
        p50_ms=_ms(percentiles["50"]),
        p99_ms=_ms(percentiles["99"]),
        errors=errors,
    )


def memory(pid: int) -> dict[str, float]:
    """VmRSS, VmHWM, RssAnon and RssFile of ``pid`` in MB."""
    fields = {}
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        name, _, rest = line.partition(":")
        if name in ("VmRSS", "VmHWM", "RssAnon", "RssFile"):
            fields[name] = int(rest.split()[0]) / 1024
    return fields


def stored_clicks(db: Path) -> tuple[int, int]:
    """Click rows and the sum of the links' counters."""
    with sqlite3.connect(db) as conn:
        rows = conn.execute("SELECT count(*) FROM clicks").fetchone()[0]
        total = conn.execute("SELECT coalesce(sum(clicks), 0) FROM links").fetchone()[0]
    return int(rows), int(total)


def line(name: str, result: WrkResult, base: WrkResult | None = None) -> str:
    ratio = f"  ratio {result.rps / base.rps:.2f}" if base else ""
    errors = f"  [{result.errors}]" if result.errors else ""
    return (f"  {name:<22} {result.rps:>10,.0f} req/s   p50 {result.p50_ms:6.3f} ms   "
            f"p99 {result.p99_ms:7.3f} ms{ratio}{errors}")


def main() -> int:
    work = Path(tempfile.mkdtemp(prefix="kliqs-bench-"))
    kliqs_port, nginx_port = free_port(), free_port()
    env = {**os.environ, "KLIQS_DATA_DIR": str(work / "data"), "KLIQS_LOG_LEVEL": "warning",
           "KLIQS_PUBLIC_BASE_URL": f"http://127.0.0.1:{kliqs_port}"}
    env.pop("KLIQS_DATABASE_URL", None)
    codes = work / "codes.txt"
    print(f"seeding {LINKS:,} links into {work / 'data'} ...", flush=True)
    started = time.monotonic()
    subprocess.run([sys.executable, str(HERE / "seed.py"), str(LINKS), str(codes)], env=env,
                   check=True)
    print(f"  seeded in {time.monotonic() - started:.1f} s", flush=True)
    (work / "nginx.conf").write_text(NGINX_CONF.format(dir=work, port=nginx_port))
    server = subprocess.Popen([KLIQS, "serve", "--port", str(kliqs_port), "--workers", "1"],
                              env=env, stdout=(work / "server.log").open("wb"),
                              stderr=subprocess.STDOUT)
    nginx = subprocess.Popen(["nginx", "-c", str(work / "nginx.conf"), "-p", str(work)],
                             stderr=(work / "nginx.log").open("wb"))
    try:
        return _measure(work, codes, server, kliqs_port, nginx_port)
    finally:
        for proc in (nginx, server):
            if proc.poll() is None:
                proc.send_signal(signal.SIGTERM)
                proc.wait(30)
        if os.environ.get("BENCH_KEEP") != "1":
            shutil.rmtree(work, ignore_errors=True)


def _measure(work: Path, codes: Path, server: subprocess.Popen[bytes], kliqs_port: int,
             nginx_port: int) -> int:
    kliqs_url, nginx_url = f"http://127.0.0.1:{kliqs_port}", f"http://127.0.0.1:{nginx_port}"
    wait_http(kliqs_port, "/healthz")
    wait_http(nginx_port, "/x")
    print(f"warming up ({THREADS} wrk threads, 64 connections, 3 s) ...", flush=True)
    runs: dict[str, WrkResult] = {"warm-up": wrk(kliqs_url, codes, 64, 3, THREADS)}
    wrk(nginx_url, codes, 64, 3, THREADS)
    nginx64 = wrk(nginx_url, codes, 64, DURATION, THREADS)
    nginx1 = wrk(nginx_url, codes, 1, max(5, DURATION // 2), 1)
    for pick in ("uniform", "hot"):
        runs[f"{pick} 64"] = wrk(kliqs_url, codes, 64, DURATION, THREADS, pick)
        runs[f"{pick} 1"] = wrk(kliqs_url, codes, 1, max(5, DURATION // 2), 1, pick)
    mem = memory(server.pid)
    server.send_signal(signal.SIGTERM)  # graceful: the buffered clicks are stored
    server.wait(60)
    rows, counters = stored_clicks(work / "data" / "kliqs.sqlite")
    sent = sum(run.requests for run in runs.values())
    print(f"\nkliqs serve (1 worker, clicks recorded) vs nginx `return 302`, {LINKS:,} links, "
          f"{DURATION} s per 64-connection run")
    print(line("nginx, 64 conn", nginx64))
    print(line("nginx, 1 conn", nginx1))
    ok = True
    for pick in ("uniform", "hot"):
        many, one = runs[f"{pick} 64"], runs[f"{pick} 1"]
        print(f"  codes picked {pick}:")
        print(line("kliqs, 64 conn", many, nginx64))
        print(line("kliqs, 1 conn", one, nginx1))
        ok &= _checks(many, one, nginx64, mem)
    print(f"  kliqs worker memory: RSS {mem['VmRSS']:.1f} MB (peak {mem['VmHWM']:.1f} MB; "
          f"anonymous {mem['RssAnon']:.1f} MB, file-backed {mem['RssFile']:.1f} MB)")
    print(f"  clicks: wrk completed {sent:,} requests; stored {rows:,} click rows, "
          f"links.clicks sum {counters:,} (difference {rows - sent:+,}; requests in flight "
          f"when wrk stops, at most one per connection, may be stored without wrk counting them)")
    stored_ok = rows == counters and 0 <= rows - sent <= IN_FLIGHT_MARGIN
    print(f"  [{'ok' if stored_ok else 'MISSED'}] clicks stored == requests completed "
          f"(+ in flight)")
    print(f"  (load average {os.getloadavg()[0]:.2f} on {os.cpu_count()} CPUs; "
          f"BENCH_KEEP=1 keeps {work})")
    return 0 if ok and stored_ok else 1


def _checks(many: WrkResult, one: WrkResult, nginx64: WrkResult, mem: dict[str, float]) -> bool:
    checks = {
        f"req/s ratio >= {TARGETS['ratio']}": many.rps / nginx64.rps >= TARGETS["ratio"],
        f"p99 at 64 conn <= {TARGETS['p99_ms']} ms": many.p99_ms <= TARGETS["p99_ms"],
        f"p50 at 1 conn <= {TARGETS['p50_1conn_ms']} ms": one.p50_ms <= TARGETS["p50_1conn_ms"],
        f"peak RSS <= {TARGETS['rss_mb']} MB": mem["VmHWM"] <= TARGETS["rss_mb"],
    }
    print("    " + "  ".join(f"[{'ok' if ok else 'MISSED'}] {name}" for name, ok in checks.items()))
    return all(checks.values())

if __name__ == "__main__":
    sys.exit(main())
