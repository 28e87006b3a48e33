"""A stand-in for the WhatsApp Cloud API (Graph API) on a real local HTTP server.

In tests::

    with WhatsAppStandin(access_token="t") as wa:
        client = WhatsAppClient("123", "t", graph_url=wa.url)
        wa.fail_next(130429, http_status=429)      # the next answer is a throughput error
        ...
        wa.messages                                 # every accepted message, with arrival time
        body, headers = wa.status_delivery(wamid, "failed", errors=[(131047, "Re-engagement")])

From a shell: ``python tests/standins/whatsapp_standin.py --port 8765 --token t``. Besides the
Graph route it serves ``GET /_standin/messages``, ``POST /_standin/fail`` ({"code", "times",
"http_status"}) and ``POST /_standin/reset`` so tests in another process can drive it.
"""

from __future__ import annotations

import argparse
import base64
import functools
import hashlib
import hmac
import itertools
import json
import re
import secrets
import threading
import time
from collections.abc import Iterable
from dataclasses import asdict, dataclass, field
from datetime import UTC, datetime
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

_MESSAGES_PATH = re.compile(r"^/(v\d+\.\d+)/([^/]+)/messages$")
_DEFAULT_ERROR_MESSAGES = {
    4: "(#4) Application request limit reached",
    100: "(#100) Invalid parameter",
    190: "Invalid OAuth access token - Cannot parse access token",
    368: "(#368) Temporarily blocked for policies violations",
    80007: "(#80007) Rate limit issues",
    130429: "(#130429) Rate limit hit",
    131000: "(#131000) Something went wrong",
    131016: "(#131016) Service unavailable",
    131026: "(#131026) Message undeliverable",
    131047: "(#131047) Re-engagement message",
    131048: "(#131048) Spam rate limit hit",
    131050: "(#131050) Unable to deliver the message",
    131056: "(#131056) (Business Account, Consumer Account) pair rate limit hit",
    132001: "(#132001) Template name does not exist in the translation",
}
DEFAULT_WABA_ID = "102290129340398"
DEFAULT_DISPLAY_NUMBER = "6281100001111"


@dataclass(frozen=True)
class RecordedMessage:
    """One message the stand-in accepted."""

    wamid: str
    api_version: str
    phone_number_id: str
    to: str
    type: str
    body: dict[str, Any]
    arrived_at: float
    """``time.monotonic()`` on arrival, to measure send rates."""
    arrived_wall: str
    """ISO 8601 UTC arrival time."""


@dataclass(frozen=True)
class Attempt:
    """Any POST to the messages route, accepted or not."""

    path: str
    status: int
    error_code: int | None
    arrived_at: float


@dataclass
class _Failure:
    code: int
    http_status: int
    remaining: int
    message: str | None = None
    subcode: int | None = None
    details: str | None = None


@dataclass
class _State:
    messages: list[RecordedMessage] = field(default_factory=list)
    reads: list[str] = field(default_factory=list)
    attempts: list[Attempt] = field(default_factory=list)
    failures: list[_Failure] = field(default_factory=list)


def error_envelope(
    code: int, message: str | None = None, *, subcode: int | None = None, details: str | None = None
) -> dict[str, Any]:
    """A Graph API error body in Meta's shape."""
    error: dict[str, Any] = {
        "message": message or _DEFAULT_ERROR_MESSAGES.get(code, f"(#{code}) Stand-in error"),
        "type": "OAuthException",
        "code": code,
        "error_data": {"messaging_product": "whatsapp", "details": details or "Stand-in error"},
        "fbtrace_id": "A" + secrets.token_urlsafe(16),
    }
    if subcode is not None:
        error["error_subcode"] = subcode
    return {"error": error}


class WhatsAppStandin:
    """A local Graph API answering ``POST /{version}/{phone_number_id}/messages``."""

    def __init__(
        self,
        *,
        access_token: str = "standin-token",
        app_secret: str = "standin-app-secret",
        phone_number_id: str | None = None,
        host: str = "127.0.0.1",
        port: int = 0,
    ) -> None:
        self.access_token = access_token
        self.app_secret = app_secret
        self.phone_number_id = phone_number_id
        self._address = (host, port)
        self._state = _State()
        self._lock = threading.Lock()
        self._counter = itertools.count(1)
        self._server: ThreadingHTTPServer | None = None
        self._thread: threading.Thread | None = None

    # ---- lifecycle ---------------------------------------------------------------------------

    def start(self) -> WhatsAppStandin:
        """Listen (port 0 picks a free one) and serve in a background thread."""
        handler = type("Handler", (_Handler,), {"standin": self})
        self._server = ThreadingHTTPServer(self._address, handler)
        self._server.daemon_threads = True
        # A short poll interval keeps stop() (and so every test's teardown) quick.
        serve = functools.partial(self._server.serve_forever, poll_interval=0.02)
        self._thread = threading.Thread(target=serve, daemon=True)
        self._thread.start()
        return self

    def stop(self) -> None:
        """Stop serving and free the port."""
        if self._server is not None:
            self._server.shutdown()
            self._server.server_close()
            self._server = None
        if self._thread is not None:
            self._thread.join(timeout=5)
            self._thread = None

    def __enter__(self) -> WhatsAppStandin:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()

    @property
    def url(self) -> str:
        """The base URL to use as the client's ``graph_url``."""
        if self._server is None:
            raise RuntimeError("stand-in not started")
        host, port = self._server.server_address[:2]
        return f"http://{host!s}:{port}"

    # ---- what happened -----------------------------------------------------------------------

    @property
    def messages(self) -> list[RecordedMessage]:
        """Accepted messages, oldest first."""
        with self._lock:
            return list(self._state.messages)

    @property
    def reads(self) -> list[str]:
        """wamids marked as read."""
        with self._lock:
            return list(self._state.reads)

    @property
    def attempts(self) -> list[Attempt]:
        """Every POST to a messages route, including refused ones."""
        with self._lock:
            return list(self._state.attempts)

    def fail_next(
        self,
        code: int,
        *,
        times: int = 1,
        http_status: int = 400,
        message: str | None = None,
        subcode: int | None = None,
        details: str | None = None,
    ) -> None:
        """Answer the next ``times`` authorised sends with Graph error ``code``."""
        failure = _Failure(code, http_status, times, message, subcode, details)
        with self._lock:
            self._state.failures.append(failure)

    def reset(self) -> None:
        """Forget messages, reads, attempts and pending failures."""
        with self._lock:
            self._state = _State()

    # ---- signed webhook deliveries, for end-to-end tests ---------------------------------------

    def sign(self, body: bytes) -> str:
        """``X-Hub-Signature-256`` for ``body`` with the stand-in's app secret."""
        return "sha256=" + hmac.new(self.app_secret.encode(), body, hashlib.sha256).hexdigest()

    def delivery(self, payload: dict[str, Any]) -> tuple[bytes, dict[str, str]]:
        """A notification body and the headers Meta would send with it."""
        body = json.dumps(payload, separators=(",", ":")).encode()
        headers = {"Content-Type": "application/json", "X-Hub-Signature-256": self.sign(body)}
        return body, headers

    def status_delivery(
        self,
        wamid: str,
        status: str,
        *,
        recipient_id: str = "6281234567890",
        errors: Iterable[tuple[int, str]] = (),
        callback_data: str | None = None,
        timestamp: int | None = None,
    ) -> tuple[bytes, dict[str, str]]:
        """A signed ``statuses`` notification (sent, delivered, read or failed)."""
        entry: dict[str, Any] = {
            "id": wamid,
            "status": status,
            "timestamp": str(timestamp or int(time.time())),
            "recipient_id": recipient_id,
        }
        if callback_data is not None:
            entry["biz_opaque_callback_data"] = callback_data
        errors = list(errors)
        if errors:
            entry["errors"] = [_status_error(code, title) for code, title in errors]
        return self.delivery(notification(self.phone_number_id or "standin", {"statuses": [entry]}))

    def inbound_text_delivery(
        self,
        from_: str,
        text: str,
        *,
        name: str = "Budi",
        wamid: str | None = None,
        timestamp: int | None = None,
    ) -> tuple[bytes, dict[str, str]]:
        """A signed inbound text message from ``from_``."""
        message = {
            "from": from_,
            "id": wamid or self._new_wamid(from_),
            "timestamp": str(timestamp or int(time.time())),
            "type": "text",
            "text": {"body": text},
        }
        value = {"contacts": [{"profile": {"name": name}, "wa_id": from_}], "messages": [message]}
        return self.delivery(notification(self.phone_number_id or "standin", value))

    # ---- serving -------------------------------------------------------------------------------

    def _new_wamid(self, to: str) -> str:
        raw = f"{to}:{next(self._counter)}:{secrets.token_hex(8)}".encode()
        return "wamid." + base64.b64encode(raw).decode()

    def _take_failure(self) -> _Failure | None:
        with self._lock:
            if not self._state.failures:
                return None
            failure = self._state.failures[0]
            failure.remaining -= 1
            if failure.remaining <= 0:
                self._state.failures.pop(0)
            return failure

    def handle_send(self, path: str, auth: str | None, raw: bytes) -> tuple[int, dict[str, Any]]:
        """Answer one POST to the messages route (called by the HTTP handler)."""
        now = time.monotonic()
        status, answer = self._answer(path, auth, raw, now)
        code = answer["error"]["code"] if "error" in answer else None
        with self._lock:
            self._state.attempts.append(Attempt(path, status, code, now))
        return status, answer

    def _answer(
        self, path: str, auth: str | None, raw: bytes, now: float
    ) -> tuple[int, dict[str, Any]]:
        match = _MESSAGES_PATH.match(path)
        if match is None:
            return 400, error_envelope(100, "Unknown path components", subcode=2500)
        if auth != f"Bearer {self.access_token}":
            return 401, error_envelope(190)
        version, phone_number_id = match.groups()
        if self.phone_number_id is not None and phone_number_id != self.phone_number_id:
            message = f"Unsupported post request. Object with ID '{phone_number_id}' does not exist"
            return 400, error_envelope(100, message, subcode=33)
        failure = self._take_failure()
        if failure is not None:
            envelope = error_envelope(
                failure.code, failure.message, subcode=failure.subcode, details=failure.details
            )
            return failure.http_status, envelope
        try:
            payload = json.loads(raw)
        except ValueError:
            return 400, error_envelope(100, "(#100) The parameter messaging_product is required.")
        problem = _problem(payload)
        if problem:
            return 400, error_envelope(131009 if "value" in problem else 100, problem)
        if payload.get("status") == "read":
            with self._lock:
                self._state.reads.append(payload["message_id"])
            return 200, {"success": True}
        return 200, self._accept(payload, version, phone_number_id, now)

    def _accept(
        self, payload: dict[str, Any], version: str, phone_number_id: str, now: float
    ) -> dict[str, Any]:
        to = payload["to"]
        wamid = self._new_wamid(to)
        wall = datetime.now(UTC).isoformat()
        kind = payload.get("type", "text")
        record = RecordedMessage(wamid, version, phone_number_id, to, kind, payload, now, wall)
        with self._lock:
            self._state.messages.append(record)
        return {
            "messaging_product": "whatsapp",
            "contacts": [{"input": to, "wa_id": re.sub(r"\D", "", to)}],
            "messages": [{"id": wamid, "message_status": "accepted"}],
        }


def _problem(payload: Any) -> str | None:
    """Why Meta would refuse this body, or None."""
    if not isinstance(payload, dict) or payload.get("messaging_product") != "whatsapp":
        return "(#100) The parameter messaging_product is required."
    if payload.get("status") == "read":
        return (
            None if isinstance(payload.get("message_id"), str) else "(#100) message_id is required"
        )
    if not payload.get("to"):
        return "(#100) The parameter to is required."
    kind = payload.get("type", "text")
    if not isinstance(payload.get(kind), dict):
        return f"(#100) The parameter {kind} is required."
    if kind == "text" and not payload["text"].get("body"):
        return "(#100) The parameter text['body'] is required."
    if kind == "interactive":
        buttons = payload["interactive"].get("action", {}).get("buttons", [])
        titles = [str(b.get("reply", {}).get("title", "")) for b in buttons]
        if not 1 <= len(buttons) <= 3 or any(not 1 <= len(t) <= 20 for t in titles):
            return "(#131009) Parameter value is not valid: buttons"
    return None


def _status_error(code: int, title: str) -> dict[str, Any]:
    return {
        "code": code,
        "title": title,
        "message": title,
        "error_data": {"details": title},
        "href": "https://developers.facebook.com/docs/whatsapp/cloud-api/support/error-codes/",
    }


def notification(phone_number_id: str, value: dict[str, Any]) -> dict[str, Any]:
    """Wrap a ``messages`` change value in Meta's notification envelope."""
    metadata = {"display_phone_number": DEFAULT_DISPLAY_NUMBER, "phone_number_id": phone_number_id}
    full = {"messaging_product": "whatsapp", "metadata": metadata, **value}
    change = {"value": full, "field": "messages"}
    return {
        "object": "whatsapp_business_account",
        "entry": [{"id": DEFAULT_WABA_ID, "changes": [change]}],
    }


class _Handler(BaseHTTPRequestHandler):
    standin: WhatsAppStandin
    protocol_version = "HTTP/1.1"

    def do_POST(self) -> None:  # noqa: N802 (the stdlib's name)
        raw = self.rfile.read(int(self.headers.get("Content-Length") or 0))
        if self.path == "/_standin/fail":
            spec = json.loads(raw or b"{}")
            times, status = int(spec.get("times", 1)), int(spec.get("http_status", 400))
            self.standin.fail_next(int(spec["code"]), times=times, http_status=status)
            return self._reply(200, {"ok": True})
        if self.path == "/_standin/reset":
            self.standin.reset()
            return self._reply(200, {"ok": True})
        try:
            answer = self.standin.handle_send(self.path, self.headers.get("Authorization"), raw)
        except Exception:  # a stand-in bug must still answer, like Meta's own 500s
            answer = (500, error_envelope(1, "An unknown error occurred"))
        self._reply(*answer)

    def do_GET(self) -> None:  # noqa: N802
        if self.path == "/_standin/messages":
            messages = [asdict(m) for m in self.standin.messages]
            return self._reply(200, {"messages": messages, "reads": self.standin.reads})
        self._reply(400, error_envelope(100, "Unsupported get request", subcode=33))

    def _reply(self, status: int, body: dict[str, Any]) -> None:
        data = json.dumps(body).encode()
        self.send_response(status)
        self.send_header("Content-Type", "application/json; charset=UTF-8")
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)

    def log_message(self, format: str, *args: Any) -> None:  # noqa: A002 (the stdlib's name)
        pass  # keep test output clean


def main(argv: list[str] | None = None) -> None:
    """Run the stand-in until interrupted."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=8765)
    parser.add_argument("--token", default="standin-token", help="the bearer token to accept")
    parser.add_argument("--app-secret", default="standin-app-secret")
    parser.add_argument(
        "--phone-number-id", default=None, help="accept only this id (default: any)"
    )
    args = parser.parse_args(argv)
    standin = WhatsAppStandin(
        access_token=args.token,
        app_secret=args.app_secret,
        phone_number_id=args.phone_number_id,
        host=args.host,
        port=args.port,
    )
    standin.start()
    print(f"WhatsApp stand-in on {standin.url}", flush=True)
    try:
        while True:
            time.sleep(3600)
    except KeyboardInterrupt:
        pass
    finally:
        standin.stop()


if __name__ == "__main__":
    main()
