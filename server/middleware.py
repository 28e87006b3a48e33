"""Pure ASGI middleware (no BaseHTTPMiddleware: it costs a task per request)."""

from __future__ import annotations

import itertools
import logging
import os

from starlette.types import ASGIApp, Message, Receive, Scope, Send

from server.api.errors import ErrorCode
from server.api.http import dumps, error_body, preferred_language

log = logging.getLogger("kliqs.api")

# Request ids: a random per-process prefix and a counter. Unique across workers and restarts,
# and a fraction of uuid4's cost (which reads the OS random source on every request).
_PREFIX = os.urandom(6).hex()
_COUNTER = itertools.count(1)


_PREFIX_BYTES = _PREFIX.encode()


def next_request_id() -> str:
    """A new request id, 24 hex characters."""
    return f"{_PREFIX}{next(_COUNTER):012x}"


def next_request_id_bytes() -> bytes:
    """:func:`next_request_id` as header bytes (the redirect path: half the cost)."""
    return _PREFIX_BYTES + b"%012x" % next(_COUNTER)


class RequestIdMiddleware:
    """Gives every HTTP request an id, answered as ``X-Request-Id``, and is the last line of
    defence: an exception that escapes the app ends as a 500 envelope, and the connection
    stays usable (uvicorn would drop a keep-alive connection after an escaped exception)."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        rid = next_request_id()
        scope["kliqs.request_id"] = rid
        header = (b"x-request-id", rid.encode())
        started = False

        async def send_with_id(message: Message) -> None:
            nonlocal started
            if message["type"] == "http.response.start":
                started = True
                message["headers"] = [*message.get("headers", []), header]
            await send(message)

        try:
            await self.app(scope, receive, send_with_id)
        except Exception:
            if started:
                return  # the app's own handler answered and logged it
            log.exception("unhandled error, request_id=%s", rid)
            await _internal_error(scope, send_with_id, rid)


async def _internal_error(scope: Scope, send: Send, rid: str) -> None:
    accept = dict(scope.get("headers", [])).get(b"accept-language", b"").decode("latin-1")
    lang = preferred_language(accept)
    body = dumps(error_body(ErrorCode.INTERNAL_ERROR, ErrorCode.INTERNAL_ERROR.message(lang), rid))
    await send({
        "type": "http.response.start",
        "status": 500,
        "headers": [(b"content-type", b"application/json"),
                    (b"content-length", str(len(body)).encode())],
    })
    await send({"type": "http.response.body", "body": body})
