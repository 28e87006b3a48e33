"""Re-record the SDK's fixtures from a live local server: ``scripts/record-sdk-fixtures``.

Starts the real app (uvicorn in a thread, SQLite in a temporary folder, real HTTP), runs
every scenario of ``sdk_scenarios`` with the ``responses`` recorder, normalises each
recording (``sdk_recorder.normalise``) and writes ``<dest>/<name>.yaml``. The files in
``sdk_scenarios.HANDWRITTEN`` are never touched. :func:`summary` is what the drift test
compares: everything about an answer except ids, generated codes, request ids and times.

    python -m sdk_recording [--dest DIR] [NAME ...]     (with tests/ and tests/kliqs_core on
                                                         PYTHONPATH, as the script sets)
"""

from __future__ import annotations

import argparse
import json
import re
import sys
import tempfile
import time
from collections.abc import Iterable, Iterator, Sequence
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import yaml
from kliqs_testing.databases import make_database
from kliqs_testing.servers import ThreadServer
from sdk_recorder import SdkRecorder, dump_fixture, normalise
from sdk_scenarios import SCENARIOS
from sdk_stage import PinnedClock, Stage, pinned, wipe

__all__ = ["FIXTURES", "RECORDED_NOTE", "main", "record_all", "summary"]

FIXTURES = Path(__file__).parent / "fixtures"
#: The first line of every recorded file; handwritten ones start with HANDWRITTEN instead.
RECORDED_NOTE = (
    "RECORDED from the real server by scripts/record-sdk-fixtures (scenario {name!r} in\n"
    "tests/kliqs_core/sdk_scenarios.py). Do not edit: change the scenario and re-record."
)
# Settings the scenarios rely on: country and visitor address from trusted proxy headers,
# and no redirect cache, since every scenario starts on an emptied database (``wipe``).
_SERVER_ENV = {
    "KLIQS_COUNTRY_HEADER": "CF-IPCountry",
    "KLIQS_CLIENT_IP_HEADER": "X-Forwarded-For",
    "KLIQS_LINK_CACHE_TTL": "0",
    "KLIQS_LINK_NEGATIVE_CACHE_TTL": "0",
}


@contextmanager
def live_server(folder: Path) -> Iterator[ThreadServer]:
    """The real app over HTTP on a fresh SQLite database in ``folder``."""
    server = ThreadServer(make_database("sqlite", folder), folder, env=dict(_SERVER_ENV)).start()
    try:
        yield server
    finally:
        server.stop()


def record_all(
    dest: Path, names: Iterable[str] | None = None, *, timings: dict[str, float] | None = None
) -> list[Path]:
    """Record the scenarios ``names`` (default: all) into ``dest``; returns the files written.

    ``timings``, when given, receives the seconds each scenario took.
    """
    timings = {} if timings is None else timings
    chosen = list(names) if names is not None else list(SCENARIOS)
    unknown = sorted(set(chosen) - set(SCENARIOS))
    if unknown:
        raise KeyError(f"no recording scenario for {unknown}; known: {sorted(SCENARIOS)}")
    written = []
    with tempfile.TemporaryDirectory(prefix="kliqs-record-") as tmp, live_server(Path(tmp)) as srv:
        for name in chosen:
            started = time.monotonic()
            written.append(_record_one(srv, name, dest, Path(tmp)))
            timings[name] = time.monotonic() - started
    return written


def _record_one(server: ThreadServer, name: str, dest: Path, workdir: Path) -> Path:
    clock_hook = PinnedClock()
    recorder = SdkRecorder(before_send=clock_hook)
    wipe(server)
    stage = Stage(server, recorder, name, workdir)
    with pinned(clock_hook), recorder:
        try:
            SCENARIOS[name](stage)
        finally:
            stage.close()
    if not recorder.captured:
        raise RuntimeError(f"scenario {name!r} captured nothing")
    path = dest / f"{name}.yaml"
    note = RECORDED_NOTE.format(name=name)
    dump_fixture(normalise(recorder.recording(), origin=server.url), path, note=note)
    return path


# -- what the drift test compares ---------------------------------------------------------

# Headers whose value is compared; the others only need to be present.
_COMPARED_HEADERS = {"x-ratelimit-limit", "x-ratelimit-remaining", "idempotent-replayed", "allow"}
_VOLATILE = [
    (re.compile(r"[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}"), "<id>"),
    (re.compile(r"\bgen\d{4}\b"), "<generated-code>"),
    (re.compile(r"\bcursor\d+\b"), "<cursor>"),
]


def summary(path: Path) -> list[dict[str, Any]]:
    """Per answer: request line, status, content type, error code, headers and body shape."""
    document = yaml.safe_load(path.read_text(encoding="utf-8"))
    return [_answer_summary(item["response"]) for item in document["responses"]]


def _answer_summary(entry: dict[str, Any]) -> dict[str, Any]:
    headers = {name.lower(): str(value) for name, value in (entry.get("headers") or {}).items()}
    try:
        body = json.loads(entry.get("body") or "")
    except ValueError:
        body = entry.get("body")
    return {
        "request": f"{entry['method']} {_mask(entry['url'])}",
        "status": entry["status"],
        "content_type": entry.get("content_type"),
        "error": body.get("error") if isinstance(body, dict) else None,
        "headers": {k: v if k in _COMPARED_HEADERS else "<present>" for k, v in headers.items()},
        "body": _shape(body),
    }


def _mask(text: str) -> str:
    for pattern, placeholder in _VOLATILE:
        text = pattern.sub(placeholder, text)
    return text


def _shape(node: Any) -> Any:
    """Keys and JSON types, with list lengths; ``success`` and ``error`` keep their values."""
    if isinstance(node, dict):
        return {k: v if k in ("success", "error") else _shape(v) for k, v in node.items()}
    if isinstance(node, list):
        return [_shape(item) for item in node]
    return type(node).__name__


# -- command line ----------------------------------------------------------------------------


def main(argv: Sequence[str] | None = None) -> int:
    """Re-record into ``--dest`` (default: the committed fixtures folder)."""
    parser = argparse.ArgumentParser(prog="scripts/record-sdk-fixtures", description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("names", nargs="*", help="scenarios to record (default: all)")
    parser.add_argument("--dest", type=Path, default=FIXTURES, help="folder to write into")
    args = parser.parse_args(argv)
    started = time.monotonic()
    timings: dict[str, float] = {}
    written = record_all(args.dest, args.names or None, timings=timings)
    for path, seconds in zip(written, timings.values(), strict=True):
        print(f"recorded {path} ({seconds:.2f}s)")
    print(f"{len(written)} fixtures in {time.monotonic() - started:.1f}s", file=sys.stderr)
    return 0


if __name__ == "__main__":
    sys.exit(main())
