"""The click spool: batches of described clicks as files, from the workers to the ingester.

A worker's click thread writes each batch as one JSON file (a temp name, then an atomic
rename), so the ingester only ever sees whole batches. Names start with the nanosecond
time, so sorted names are the order they were written in; the process id and a counter
keep two workers' names apart. A file stays until the ingester has stored its clicks.
"""

from __future__ import annotations

import itertools
import json
import logging
import os
import time
from pathlib import Path
from typing import Any

log = logging.getLogger("kliqs.public.spool")

SUFFIX = ".clicks.json"
VISIT_FIELDS = 6  # see server.public.clicks.Visit


class Spool:
    """One spool directory (created when missing)."""

    def __init__(self, directory: Path) -> None:
        self.directory = Path(directory)
        self.directory.mkdir(parents=True, exist_ok=True)
        self._counter = itertools.count(1)

    def write(self, visits: list[Any]) -> str:
        """Store one batch as a new file; returns its name."""
        # dumps, not dump: json.dump streams through the pure-Python encoder.
        return self._write(json.dumps(visits, separators=(",", ":")))

    def write_encoded(self, parts: list[str]) -> str:
        """Store one batch given as JSON-encoded slices (array items without brackets)."""
        return self._write(f"[{','.join(parts)}]")

    def _write(self, text: str) -> str:
        name = f"{time.time_ns():020d}-{os.getpid()}-{next(self._counter)}{SUFFIX}"
        temp = self.directory / f".{name}.tmp"
        temp.write_text(text, encoding="utf-8")
        os.replace(temp, self.directory / name)
        return name

    def names(self) -> list[str]:
        """The whole batches waiting, oldest first."""
        try:
            found = [entry.name for entry in os.scandir(self.directory)
                     if entry.name.endswith(SUFFIX) and not entry.name.startswith(".")]
        except FileNotFoundError:
            return []
        return sorted(found)

    def read(self, name: str) -> list[Any] | None:
        """The batch in ``name``; ``None`` when another ingester took it first.

        Raises ``ValueError`` when the file is not a batch (a list of six-item visits).
        """
        try:
            with (self.directory / name).open(encoding="utf-8") as src:
                batch = json.load(src)
        except FileNotFoundError:
            return None
        if not isinstance(batch, list) or not all(
            isinstance(visit, list) and len(visit) == VISIT_FIELDS for visit in batch
        ):
            raise ValueError(f"{name} is not a list of {VISIT_FIELDS}-item visits")
        return batch

    def remove(self, name: str) -> None:
        """Forget a stored batch (gone already is fine)."""
        try:
            os.remove(self.directory / name)
        except FileNotFoundError:
            pass

    def quarantine(self, name: str) -> None:
        """Move an unreadable batch aside (``*.bad``) so it cannot block the ones after it."""
        log.error("click spool file %s is not a valid batch; kept as %s.bad", name, name)
        try:
            os.replace(self.directory / name, self.directory / f"{name}.bad")
        except FileNotFoundError:
            pass
