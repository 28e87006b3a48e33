"""The CSV batch keeps earlier results whatever interrupts it."""

from __future__ import annotations

import csv
from collections.abc import Callable
from pathlib import Path

import pytest
import requests
import responses

from kliqs_core import KliqsClient
from kliqs_core._batch import read_input, row_key, run_batch

Load = Callable[[str], None]  # the conftest's `load` fixture
URLS = [f"https://marketku.id/products/{n}" for n in (1, 2, 3)]


def _write(path: Path, rows: list[dict[str, str]]) -> None:
    with path.open("w", encoding="utf-8", newline="") as handle:
        writer = csv.DictWriter(handle, fieldnames=list(rows[0]))
        writer.writeheader()
        writer.writerows(rows)


def _short_urls(path: Path) -> list[str]:
    with path.open(encoding="utf-8", newline="") as handle:
        return [row["short_url"] for row in csv.DictReader(handle)]


def test_an_interrupted_run_keeps_every_earlier_result(
    tmp_path: Path, client: KliqsClient, api: responses.RequestsMock, load: Load
) -> None:
    source_path = tmp_path / "urls.csv"
    _write(source_path, [{"url": url} for url in URLS])
    output = tmp_path / "results.csv"
    # An earlier run shortened only the third row.
    _write(output, [{"url": URLS[2], "short_url": "http://kliqs.test/three", "error": ""}])
    load("create_link")

    def interrupt(request: requests.PreparedRequest) -> tuple[int, dict[str, str], str]:
        raise KeyboardInterrupt

    api.add_callback(responses.POST, "http://kliqs.test/api/v1/links", callback=interrupt)

    with pytest.raises(KeyboardInterrupt):
        run_batch(client, read_input(source_path), output)

    assert _short_urls(output) == ["http://kliqs.test/vps-murah", "", "http://kliqs.test/three"]
    assert not (tmp_path / "results.csv.partial").exists()


def test_row_keys_ignore_surrounding_spaces_and_extra_columns() -> None:
    plain = {"url": "https://marketku.id/products/1", "title": "VPS Murah"}
    padded = {"url": " https://marketku.id/products/1 ", "title": "VPS Murah ", "sku": "V-1"}

    assert row_key(plain) == row_key(padded)
    assert row_key(plain) != row_key({**plain, "slug": "vps"})
