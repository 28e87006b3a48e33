"""A tiny fault-injecting HTTP proxy for end-to-end tests (put in front of Kliqs or the shop).

Every request is forwarded to ``upstream`` unless a rule says otherwise, and logged with its
answer. Rules, matched on method and path prefix:

- ``fail_next(count, status)``: answer ``status`` (a JSON error envelope, as a gateway or an
  overloaded server would) without forwarding, ``count`` times;
- ``hold_after_forward()``: forward, receive the upstream answer, then hold it back until
  ``release()``: the upstream did the work, the client has not heard of it (kill it now).
"""

from __future__ import annotations

import http.client
import json
import threading
from dataclasses import dataclass
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import urlsplit

_HOP_BY_HOP = {"connection", "keep-alive", "transfer-encoding", "te", "trailer", "upgrade",
               "proxy-authorization", "proxy-authenticate", "host", "content-length"}  # fmt: skip


@dataclass(frozen=True)
class Exchange:
    """One proxied request and what the client was answered (``forwarded`` False: injected)."""

    method: str
    path: str
    status: int
    forwarded: bool


@dataclass
class _Rule:
    method: str
    prefix: str
    remaining: int
    status: int = 0
    hold: bool = False


class FaultProxy:
    """The proxy on a loopback port, on a daemon thread; ``url`` replaces the upstream's."""

    def __init__(self, upstream: str) -> None:
        parts = urlsplit(upstream)
        self._upstream = (parts.hostname or "127.0.0.1", parts.port or 80)
        self._lock = threading.Lock()
        self._rules: list[_Rule] = []
        self._log: list[Exchange] = []
        self.held = threading.Event()
        self._release = threading.Event()
        handler = type("FaultProxyHandler", (_Handler,), {"proxy": self})
        self._server = ThreadingHTTPServer(("127.0.0.1", 0), handler)
        self._server.daemon_threads = True
        self._thread = threading.Thread(target=self._server.serve_forever, args=(0.05,),
                                        daemon=True)  # fmt: skip

    @property
    def url(self) -> str:
        """Base URL of the proxy."""
        return f"http://127.0.0.1:{self._server.server_address[1]}"

    def fail_next(self, count: int, status: int = 503, *, method: str = "POST",
                  prefix: str = "/") -> None:  # fmt: skip
        """Answer the next ``count`` matching requests with ``status``, not forwarding them."""
        with self._lock:
            self._rules.append(_Rule(method, prefix, count, status=status))

    def hold_after_forward(self, *, method: str = "POST", prefix: str = "/") -> None:
        """Forward the next matching request, then hold its answer until :meth:`release`."""
        self.held.clear()
        self._release.clear()
        with self._lock:
            self._rules.append(_Rule(method, prefix, 1, hold=True))

    def release(self) -> None:
        """Let held answers go (to a client that may be dead by now)."""
        self._release.set()

    def log(self, *, method: str | None = None, prefix: str = "/") -> list[Exchange]:
        """The exchanges so far, optionally of one method and path prefix."""
        with self._lock:
            return [e for e in self._log
                    if (method is None or e.method == method) and e.path.startswith(prefix)]  # fmt: skip

    def start(self) -> FaultProxy:
        self._thread.start()
        return self

    def stop(self) -> None:
        self.release()
        self._server.shutdown()
        self._server.server_close()

    def __enter__(self) -> FaultProxy:
        return self.start()

    def __exit__(self, *exc_info: object) -> None:
        self.stop()

    def _take_rule(self, method: str, path: str) -> _Rule | None:
        with self._lock:
            for rule in self._rules:
                if rule.method == method and path.startswith(rule.prefix) and rule.remaining > 0:
                    rule.remaining -= 1
                    return rule
        return None

    def _record(self, exchange: Exchange) -> None:
        with self._lock:
            self._log.append(exchange)

    def _forward(self, method: str, path: str, headers: dict[str, str],
                 body: bytes) -> tuple[int, list[tuple[str, str]], bytes]:  # fmt: skip
        conn = http.client.HTTPConnection(*self._upstream, timeout=60)
        try:
            conn.request(method, path, body=body or None, headers=headers)
            response = conn.getresponse()
            return response.status, response.getheaders(), response.read()
        finally:
            conn.close()


class _Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"  # keep-alive, as the SDK's session expects
    proxy: FaultProxy

    def log_message(self, format: str, *args: Any) -> None:  # noqa: A002 - stdlib signature
        """Quiet."""

    def _handle(self) -> None:
        body = self.rfile.read(int(self.headers.get("Content-Length") or 0))
        path = self.path
        rule = self.proxy._take_rule(self.command, urlsplit(path).path)
        if rule is not None and not rule.hold:
            payload = json.dumps({"success": False, "error": "SERVICE_UNAVAILABLE",
                                  "message": "injected by the test proxy"}).encode()  # fmt: skip
            self.proxy._record(Exchange(self.command, path, rule.status, forwarded=False))
            return self._send(rule.status, [("Content-Type", "application/json")], payload)
        headers = {k: v for k, v in self.headers.items() if k.lower() not in _HOP_BY_HOP}
        status, answer_headers, payload = self.proxy._forward(self.command, path, headers, body)
        self.proxy._record(Exchange(self.command, path, status, forwarded=True))
        if rule is not None:  # hold: the upstream acted; keep the client waiting
            self.proxy.held.set()
            self.proxy._release.wait(60)
        kept = [(k, v) for k, v in answer_headers if k.lower() not in _HOP_BY_HOP]
        try:
            self._send(status, kept, payload)
        except OSError:
            pass  # the client was killed while we held its answer

    do_GET = do_POST = do_PUT = do_PATCH = do_DELETE = _handle

    def _send(self, status: int, headers: list[tuple[str, str]], payload: bytes) -> None:
        self.send_response(status)
        for name, value in headers:
            self.send_header(name, value)
        self.send_header("Content-Length", str(len(payload)))
        self.end_headers()
        self.wfile.write(payload)
