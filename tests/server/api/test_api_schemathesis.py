"""Schemathesis against the served OpenAPI document: no 500, every answer matches it."""

from __future__ import annotations

import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

from kliqs_testing.databases import Database
from kliqs_testing.servers import ProcessServer

CHECKS = ",".join([
    "not_a_server_error",
    "status_code_conformance",
    "content_type_conformance",
    "response_headers_conformance",
    "response_schema_conformance",
])


@pytest.fixture(scope="module")
def fuzz_server(database: Database, module_dir: Path) -> Iterator[ProcessServer]:
    folder = module_dir / f"fuzz-{database.kind}"
    folder.mkdir(exist_ok=True)
    server = ProcessServer(database, folder, env={"KLIQS_BURST_LIMIT": "100000"}).start()
    yield server
    server.stop()


@pytest.mark.slow
def test_schemathesis_finds_no_server_error_or_schema_mismatch(fuzz_server: ProcessServer) -> None:
    account = fuzz_server.new_account("business")
    done = subprocess.run(
        [
            str(Path(sys.executable).with_name("schemathesis")), "run",
            f"{fuzz_server.url}/api/v1/openapi.json",
            "--header", f"Authorization: Bearer {account.key}",
            "--checks", CHECKS,
            "--max-time", "40",
            "--workers", "1",   # CPython 3.11 ast.parse is not thread-safe (hypothesis lambda repr)
            "--seed", "20261124",
        ],
        capture_output=True, text=True, timeout=300,
    )
    report = done.stdout[-6000:] + done.stderr[-2000:]
    assert done.returncode == 0, report
    assert " passed" in done.stdout and "failed" not in done.stdout.split("SUMMARY")[-1], report
