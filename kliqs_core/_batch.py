"""Shorten the rows of a CSV file, resumably; the logic behind ``kliqs shorten --file``.

Each row's ``Idempotency-Key`` is derived from its content, so running the same file again
(after a crash, a quota stop or a network failure) replays links already made instead of
making them twice. The results file is rewritten through a temporary file and swapped in
with ``os.replace``: an interrupted run never loses results a previous run wrote.
"""

from __future__ import annotations

import csv
import hashlib
import io
import json
import os
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from pathlib import Path

from kliqs_core.client import KliqsClient
from kliqs_core.errors import (
    AuthenticationError,
    KliqsConnectionError,
    KliqsError,
    QuotaError,
)

__all__ = [
    "BatchResult",
    "CsvError",
    "InputFile",
    "read_done",
    "read_input",
    "row_key",
    "run_batch",
]

INPUT_COLUMNS = ("url", "slug", "title", "description")
RESULT_COLUMNS = ("short_url", "error")

# Errors after which every further row would fail the same way: stop instead of hammering.
_STOPPING = (QuotaError, AuthenticationError, KliqsConnectionError)


class CsvError(ValueError):
    """The input CSV cannot be used (no header, no ``url`` column)."""


@dataclass(frozen=True)
class InputFile:
    """A parsed input CSV: its columns, its rows and its delimiter."""

    fieldnames: tuple[str, ...]
    rows: tuple[dict[str, str], ...]
    delimiter: str


@dataclass(frozen=True)
class BatchResult:
    """What a run did; ``stopped_by`` is the error that ended it early, if any."""

    shortened: int
    skipped: int
    failed: int
    remaining: int
    stopped_by: KliqsError | None


def row_key(row: Mapping[str, str]) -> str:
    """The row's idempotency key: a hash of the fields that go into the request."""
    content = json.dumps([(row.get(name) or "").strip() for name in INPUT_COLUMNS])
    return "kliqs-csv-" + hashlib.sha256(content.encode("utf-8")).hexdigest()[:40]


def read_input(path: Path) -> InputFile:
    """Read a CSV with a header row and a ``url`` column (a UTF-8 BOM and ``;`` are fine)."""
    text = path.read_text(encoding="utf-8-sig")
    delimiter = _sniff_delimiter(text)
    reader = csv.DictReader(io.StringIO(text, newline=""), delimiter=delimiter)
    fieldnames = tuple(name.strip() for name in reader.fieldnames or ())
    if "url" not in fieldnames:
        raise CsvError(f"{path} needs a header row with a 'url' column (found {list(fieldnames)})")
    reader.fieldnames = list(fieldnames)
    # Short rows fill with "" and the surplus cells of long rows (key None) are dropped.
    rows = tuple(
        {name: value or "" for name, value in row.items() if name is not None} for row in reader
    )
    return InputFile(fieldnames=fieldnames, rows=rows, delimiter=delimiter)


def read_done(path: Path) -> dict[str, str]:
    """Short URLs already obtained, by row key, from a previous results file (if any)."""
    if not path.exists():
        return {}
    previous = read_input(path)
    return {row_key(row): row["short_url"] for row in previous.rows if row.get("short_url")}


def run_batch(
    client: KliqsClient,
    source: InputFile,
    output: Path,
    *,
    done: Mapping[str, str] | None = None,
    on_row: Callable[[], None] = lambda: None,
) -> BatchResult:
    """Shorten every row not already done, writing all rows with ``short_url`` and ``error``.

    ``done`` maps row keys to short URLs of an earlier run (default: read from ``output``).
    """
    run = _Run(client, done=read_done(output) if done is None else done)
    fieldnames = list(source.fieldnames) + [c for c in RESULT_COLUMNS if c not in source.fieldnames]
    partial = output.with_name(output.name + ".partial")
    complete = False
    try:
        with partial.open("w", encoding="utf-8", newline="") as handle:
            writer = csv.DictWriter(handle, fieldnames=fieldnames, delimiter=source.delimiter)
            writer.writeheader()
            written = 0
            try:
                for row in source.rows:
                    writer.writerow(run.process(row))
                    written += 1
                    handle.flush()  # progress survives a hard crash in the .partial file
                    on_row()
            finally:
                # Interrupted (Ctrl-C, an unexpected error): the rows not reached keep the
                # results of earlier runs, so swapping the file in below loses nothing.
                writer.writerows(run.carry(row) for row in source.rows[written:])
                complete = True
    finally:
        if complete:
            os.replace(partial, output)
    return run.result()


class _Run:
    """The state of one pass over the rows."""

    def __init__(self, client: KliqsClient, *, done: Mapping[str, str]) -> None:
        self.client = client
        self.done = done
        self.counts = {"shortened": 0, "skipped": 0, "failed": 0, "remaining": 0}
        self.stopped_by: KliqsError | None = None

    def process(self, row: dict[str, str]) -> dict[str, str]:
        """The output row for ``row``: reused, freshly shortened, failed or left for later."""
        if self._earlier(row):
            self.counts["skipped"] += 1
            return self.carry(row)
        if self.stopped_by is not None:
            self.counts["remaining"] += 1
            return self.carry(row)
        try:
            link = self.client.create_link(
                row["url"].strip(),
                slug=_field(row, "slug"),
                title=_field(row, "title"),
                description=_field(row, "description"),
                idempotency_key=row_key(row),
            )
        except KliqsError as exc:
            if isinstance(exc, _STOPPING):
                self.stopped_by = exc
                self.counts["remaining"] += 1
            else:
                self.counts["failed"] += 1
            return {**row, "short_url": "", "error": f"{exc.code}: {exc.message}"}
        self.counts["shortened"] += 1
        return {**row, "short_url": link.short_url, "error": ""}

    def carry(self, row: dict[str, str]) -> dict[str, str]:
        """The output row for ``row`` without calling the API: its earlier result, if any."""
        return {**row, "short_url": self._earlier(row), "error": ""}

    def _earlier(self, row: Mapping[str, str]) -> str:
        return row.get("short_url") or self.done.get(row_key(row)) or ""

    def result(self) -> BatchResult:
        """The counts of the pass so far."""
        return BatchResult(stopped_by=self.stopped_by, **self.counts)


def _field(row: Mapping[str, str], name: str) -> str | None:
    return (row.get(name) or "").strip() or None


def _sniff_delimiter(text: str) -> str:
    header = next(iter(text.splitlines()), "")
    # Spreadsheets in Indonesian locales save CSV with ';' (the decimal separator is ',').
    if "," not in header:
        return next((d for d in (";", "\t") if d in header), ",")
    return ","
