"""The seed's curl, Node.js and PHP examples (and the Python SDK one), as written with only the
base URL and the key changed, run against a live local server and print the short URL."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

from kliqs_testing.databases import make_database
from kliqs_testing.servers import ProcessServer

EXAMPLES = Path(__file__).resolve().parents[3] / "docs" / "examples"
RUNNERS = {
    "create-link.sh": ["bash"],
    "create-link.mjs": ["node"],
    "create-link.php": ["php"],
    "create_link.py": [sys.executable],
}


@pytest.fixture
def fresh_server(tmp_path: Path) -> Iterator[ProcessServer]:
    """A server of its own: the examples all claim the slug ``vps-murah``."""
    server = ProcessServer(make_database("sqlite", tmp_path), tmp_path).start()
    yield server
    server.stop()


@pytest.mark.parametrize("name", sorted(RUNNERS))
def test_seed_example_prints_the_short_url(
    name: str, fresh_server: ProcessServer, tmp_path: Path
) -> None:
    runner = RUNNERS[name]
    if shutil.which(runner[0]) is None:
        pytest.fail(f"{runner[0]} is not installed: scripts/setup installs it")
    account = fresh_server.new_account("free")
    source = (EXAMPLES / name).read_text()
    assert source.count("https://api.kliqs.me") == 1
    assert source.count("kliqs_sk_live_xxxxxxxxx") == 1
    script = tmp_path / name
    script.write_text(
        source.replace("https://api.kliqs.me", fresh_server.url).replace(
            "kliqs_sk_live_xxxxxxxxx", account.key
        )
    )
    done = subprocess.run(
        [*runner, str(script)], capture_output=True, text=True, timeout=60,
        env={**os.environ, "NODE_NO_WARNINGS": "1"},
    )
    assert done.returncode == 0, done.stderr
    with fresh_server.client() as http:
        items = http.get("/api/v1/links", headers=account.auth).json()["data"]["items"]
    assert len(items) == 1
    assert items[0]["short_url"] in done.stdout
    assert items[0]["destination_url"] == "https://marketku.id/products/8f3f4f3f-1231-1231-1231"


SEED = EXAMPLES.parents[2] / "shared" / "seed" / "kliqs-api-docs-id.txt"


@pytest.mark.parametrize("name", ["create-link.sh", "create-link.mjs", "create-link.php"])
def test_example_is_the_seed_text_word_for_word(name: str) -> None:
    """The examples cannot drift from the user's document (beside the repository, as
    ``shared/``, in this workplace and its CI)."""
    if not SEED.is_file():
        # CI always has shared/ beside the clone: there a missing seed is a failure.
        if os.environ.get("CI"):
            pytest.fail(f"the seed document is not beside the repository ({SEED})")
        pytest.skip(f"the seed document is not beside the repository ({SEED})")
    source = (EXAMPLES / name).read_text().removeprefix("<?php\n").strip()
    assert source.count("\n") >= 3
    assert source in SEED.read_text()
