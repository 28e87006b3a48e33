"""Record what the real server answers the SDK, in the ``responses`` recorder's YAML schema.

:class:`SdkRecorder` is ``responses._recorder.Recorder`` (every ``requests`` call really goes
out and its answer is kept) with two additions: only requests made inside
:meth:`SdkRecorder.capture` end up in the file, so a scenario can set the stage with the
same SDK unrecorded; and a ``before_send`` hook runs before each request (the recording
pins the server's clock there). :func:`normalise` then makes a recording fit to commit:
the server's origin becomes ``http://kliqs.test``, API keys are removed, and ids, request
ids, generated codes and cursors become stable placeholders.
"""

from __future__ import annotations

import io
import json
import re
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import requests
import responses
import yaml
from responses import _recorder

__all__ = [
    "BASE_URL",
    "SdkRecorder",
    "dump_fixture",
    "normalise",
]

BASE_URL = "http://kliqs.test"

_UUID = re.compile(r"[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}")
_REQUEST_ID = re.compile(r"(?<![0-9a-f])(?:[0-9a-f]{32}|[0-9a-f]{24})(?![0-9a-f])")  # uuid4 hex or ours
# The server's generated codes: 7 of "abcdefghjkmnpqrstuvwxyz23456789" (no 0 o 1 l i).
# Scenarios give every custom slug a hyphen or a length other than 7, so none matches.
_GENERATED_CODE = re.compile(r"[a-hjkmnp-z2-9]{7}")
_API_KEY = re.compile(r"kliqs_sk_live_[A-Za-z0-9]*")
_REDACTED_KEY = "kliqs_sk_REDACTED"
# Values of these JSON fields are random per recording and mean nothing to a test.
_FIXED_FIELDS = {"last4": "XXXX"}


class SdkRecorder(_recorder.Recorder):
    """The ``responses`` recorder, keeping only the requests made inside :meth:`capture`."""

    def __init__(self, before_send: Callable[[], None] = lambda: None) -> None:
        super().__init__()
        self.before_send = before_send
        self.captured: list[responses.BaseResponse] = []
        self._capturing = False

    @contextmanager
    def capture(self) -> Iterator[list[responses.BaseResponse]]:
        """Keep the answers of the requests made in this block (appended to ``captured``)."""
        self._capturing = True
        try:
            yield self.captured
        finally:
            self._capturing = False

    def _on_request(
        self, adapter: requests.adapters.HTTPAdapter, request: requests.PreparedRequest,
        **kwargs: Any,
    ) -> requests.Response:
        self.before_send()
        answer = super()._on_request(adapter, request, **kwargs)
        # The base class registered the answer; only captured ones are kept for the file.
        recorded = self.get_registry().registered.pop()
        if self._capturing:
            self.captured.append(recorded)
        return answer

    def recording(self) -> dict[str, Any]:
        """The captured answers as the recorder's YAML document (not yet normalised)."""
        buffer = io.StringIO()
        # Annotated for files, but any text stream works.
        _recorder._dump(self.captured, buffer, yaml.safe_dump)  # type: ignore[arg-type]
        loaded: dict[str, Any] = yaml.safe_load(buffer.getvalue())
        return loaded


def normalise(recording: dict[str, Any], *, origin: str) -> dict[str, Any]:
    """A recording fit to commit: test origin, no keys, stable placeholders for volatile values."""
    entries = [item["response"] for item in recording["responses"]]
    for entry in entries:
        entry["url"] = _scrub(entry["url"], origin)
        entry["body"] = _scrub(_fix_fields(entry.get("body", "")), origin)
        entry["headers"] = {k: _scrub(str(v), origin) for k, v in entry.get("headers", {}).items()}
    placeholders = _placeholders(entries)
    for entry in entries:
        entry["url"] = _replace(entry["url"], placeholders)
        entry["body"] = _replace(entry["body"], placeholders)
        entry["headers"] = {k: _replace(v, placeholders) for k, v in entry["headers"].items()}
    return {"responses": [{"response": _ordered(entry)} for entry in entries]}


_ORDER = ("method", "url", "status", "headers", "content_type", "body")


def _ordered(entry: dict[str, Any]) -> dict[str, Any]:
    """The request first, then the answer; a header-less answer keeps no ``headers`` key."""
    if not entry.get("headers"):
        entry.pop("headers", None)
    ordered = {key: entry[key] for key in _ORDER if key in entry}
    return {**ordered, **{k: v for k, v in entry.items() if k not in ordered}}


def dump_fixture(recording: dict[str, Any], path: Path, *, note: str = "") -> None:
    """Write a recording as YAML, one line per body, so a re-record shows as a small diff.

    ``note`` becomes a comment at the top (replay ignores comments).
    """
    path.parent.mkdir(parents=True, exist_ok=True)
    text = yaml.safe_dump(recording, sort_keys=False, allow_unicode=True, width=1_000_000)
    header = "".join(f"# {line}\n" for line in note.splitlines())
    path.write_text(header + text, encoding="utf-8")


def _scrub(text: str, origin: str) -> str:
    return _API_KEY.sub(_REDACTED_KEY, text.replace(origin, BASE_URL))


def _fix_fields(body: str) -> str:
    try:
        document = json.loads(body)
    except ValueError:
        return body
    fixed = _walk(document, lambda key, value: _FIXED_FIELDS.get(key, value))
    # The server's own compact form, so an unchanged body stays byte-identical.
    return json.dumps(fixed, ensure_ascii=False, separators=(",", ":"))


def _walk(node: Any, fix: Callable[[str, Any], Any]) -> Any:
    if isinstance(node, dict):
        return {key: fix(key, _walk(value, fix)) for key, value in node.items()}
    if isinstance(node, list):
        return [_walk(item, fix) for item in node]
    return node


def _placeholders(entries: list[dict[str, Any]]) -> dict[str, str]:
    """Volatile value -> placeholder, numbered in order of first appearance."""
    found: dict[str, str] = {}
    counters = {"uuid": 0, "request": 0, "code": 0, "cursor": 0}

    def name(value: str, kind: str) -> None:
        if value not in found:
            counters[kind] += 1
            found[value] = _PLACEHOLDER[kind](counters[kind])

    for entry in entries:
        texts = [entry["url"], entry["body"], *entry["headers"].values()]
        for text in texts:
            for match in _UUID.finditer(text):
                name(match.group(), "uuid")
            for match in _REQUEST_ID.finditer(text):
                name(match.group(), "request")
        for kind, value in _json_volatiles(entry["body"]):
            name(value, kind)
    return found


_PLACEHOLDER: dict[str, Callable[[int], str]] = {
    "uuid": lambda n: f"00000000-0000-4000-8000-{n:012d}",
    "request": lambda n: f"req_{n:04d}",
    # "0" and "1" are outside the server's alphabet: a placeholder never looks generated.
    "code": lambda n: f"gen{n:04d}",
    "cursor": lambda n: f"cursor{n}",
}


def _json_volatiles(body: str) -> Iterator[tuple[str, str]]:
    try:
        document = json.loads(body)
    except ValueError:
        return
    found: list[tuple[str, str]] = []

    def visit(key: str, value: Any) -> Any:
        if key == "short_code" and isinstance(value, str) and _GENERATED_CODE.fullmatch(value):
            found.append(("code", value))
        elif key == "next_cursor" and isinstance(value, str):
            found.append(("cursor", value))
        return value

    _walk(document, visit)
    yield from found


def _replace(text: str, placeholders: dict[str, str]) -> str:
    if not placeholders:
        return text
    # Whole tokens only: a code must not be replaced inside a longer word or a cursor.
    alternatives = "|".join(re.escape(v) for v in sorted(placeholders, key=len, reverse=True))
    token = re.compile(rf"(?<![A-Za-z0-9_-])(?:{alternatives})(?![A-Za-z0-9_-])")
    return token.sub(lambda match: placeholders[match.group()], text)
