"""bench/pipeline still runs, end to end, and keeps its books: a small run of both modes."""

from __future__ import annotations

import os
import re
import subprocess
import sys
from pathlib import Path

import pytest
from kliqs_testing.databases import pg_admin_url, redis_url

pytestmark = [pytest.mark.slow, pytest.mark.redis, pytest.mark.postgres]

REPO = Path(__file__).resolve().parents[2]
ROWS = ("ack, saturated, workers on it", "ack, saturated, workers busy",
        "ack, saturated, web alone", "ack, paced 20/s, web alone")  # fmt: skip


def test_a_small_run_of_both_modes_reports_every_phase_with_the_books_right() -> None:
    pg_admin_url(), redis_url()  # the redis mode's services (skip, or fail in CI, without)
    done = subprocess.run(
        [sys.executable, "bench/pipeline/bench.py", "--modes", "embedded,redis",
         "--products", "60", "--warmup", "5", "--rate", "20", "--timeout", "120"],
        cwd=REPO, env=os.environ.copy(), capture_output=True, text=True, timeout=280,
    )  # fmt: skip
    out = done.stdout
    assert done.returncode == 0, out + done.stderr
    assert re.search(r"^floor: .* acks/s$", out, re.M), out
    for mode in ("embedded", "redis"):
        section = out.split(f"== {mode}:")[1].split("\n== ")[0]
        for row in ROWS:
            assert re.search(rf"{re.escape(row)} +p50 +\d+\.\d ms +p99 +\d+\.\d ms", section), row
        assert re.search(r"end to end \(webhook -> notified\) +\d+\.\d products/s", section)
        assert re.search(r"books: (\d+) notified, \1 PUTs for \1 products, links \1 +-> ok",
                         section), section  # fmt: skip
