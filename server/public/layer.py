"""The ASGI layer in front of the app: answers ``/{code}`` without FastAPI's routing.

The hot path is a plain ``GET`` redirect: lower-case the path, find the code in this
worker's cache (or read it from SQLite inline), queue a click tuple and send a 302 built
from the cached ``Location``. Anything else about a code goes to :mod:`server.public.views`;
paths the app owns (``/``, ``/api/...``, ``/docs``, ``/dash``, ``/healthz``, ``/static``,
every reserved word) pass through untouched. The layer also hooks the ASGI lifespan to
start and stop the click pump and the change feed, so a graceful stop (SIGTERM, SIGINT)
hands on every buffered click.
"""

from __future__ import annotations

import asyncio
import logging

from starlette.types import ASGIApp, Message, Receive, Scope, Send

from server.api.errors import ApiError, ErrorCode
from server.api.http import error_body, preferred_language
from server.clock import timestamp
from server.public import views
from server.public.hosts import HostRules
from server.middleware import RequestIdMiddleware, next_request_id_bytes
from server.public.location import CACHE_CONTROL, EMPTY_LENGTH, ROBOTS, with_query
from server.public.qr import KINDS
from server.public.responses import EMPTY_BODY, header, json_bytes, send_json
from server.public.side import PublicSide

log = logging.getLogger("kliqs.public")


class PublicLayer:
    """Serves the public side; everything else goes on to ``app``.

    Only the plain redirect is answered here directly, with its own ``X-Request-Id``; every
    other request passes :class:`~server.middleware.RequestIdMiddleware` first (the id, and
    the 500 envelope for an escaped exception), then :meth:`route`.
    """

    def __init__(self, app: ASGIApp, side: PublicSide) -> None:
        self.app = app
        self.side = side
        self._cache_get = side.cache.get
        self._reserved = side.reserved
        self._record = side.recorder.add if side.recorder is not None else None
        self._resolve_now = side.resolve_now if side.sync_lookups else None
        hosts = HostRules(side.settings)
        self._hosts = hosts if hosts.active else None
        self._others = RequestIdMiddleware(self.route)

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self._not_http(scope, receive, send)
            return
        key = scope["path"][1:].lower()
        if (
            "/" not in key
            and key
            and key not in self._reserved
            and scope["method"] == "GET"
            and (self._hosts is None or self._hosts.serves_public(scope))
        ):
            target = self._cache_get(key)
            if target is None and self._resolve_now is not None:
                try:  # SQLite: a synchronous indexed read, no task switch
                    target = self._resolve_now(key)
                except Exception:
                    target = None  # route() tries again, and answers 503 if it fails too
            if type(target) is bytes:  # a PlainTarget: len(id), id, Location
                # The common case: nothing awaited but the two sends.
                end = target[0] + 1
                location = target[end:]
                query = scope["query_string"]
                if query:
                    location = with_query(location.decode("ascii"), query).encode("ascii")
                if self._record is not None:
                    self._record(target[1:end].decode("ascii"), timestamp(), scope["headers"],
                                 scope.get("client"))
                await send({
                    "type": "http.response.start",
                    "status": 302,
                    "headers": ((b"location", location), CACHE_CONTROL, ROBOTS, EMPTY_LENGTH,
                                (b"x-request-id", next_request_id_bytes())),
                })
                await send(EMPTY_BODY)
                return
        await self._others(scope, receive, send)

    async def route(self, scope: Scope, receive: Receive, send: Send) -> None:
        """Codes (other than a plain ``GET``), QR codes, host rules, then the app."""
        key = scope["path"][1:].lower()
        if (
            "/" not in key
            and key
            and key not in self._reserved
            and (self._hosts is None or self._hosts.serves_public(scope))
        ):
            await self._code(scope, receive, send, key)
            return
        await self._other(scope, receive, send, key)

    async def _unavailable(self, scope: Scope, send: Send, key: str) -> None:
        log.exception("looking up %r failed", key)
        await views.status_page(scope, send, self.side, 503)

    async def _code(self, scope: Scope, receive: Receive, send: Send, key: str) -> None:
        target = self.side.cached(key)
        if target is None:
            try:
                target = await self.side.resolve(key)
            except Exception:
                await self._unavailable(scope, send, key)
                return
        await views.answer(scope, receive, send, self.side, key, target)

    async def _other(self, scope: Scope, receive: Receive, send: Send, key: str) -> None:
        """QR codes, then the host rules, then the app."""
        code, _, rest = key.partition("/")
        if code and code not in self._reserved and (
            self._hosts is None or self._hosts.serves_public(scope)
        ):
            if rest in KINDS:
                await views.qr_code(scope, send, self.side, code, rest)
                return
            if rest == "" and key.endswith("/"):  # "/{code}/": the same as "/{code}"
                await self._code(scope, receive, send, code)
                return
        if self._hosts is not None and self._hosts.refuses(scope, scope["path"]):
            await self._refuse(scope, send)
            return
        await self.app(scope, receive, send)

    async def _refuse(self, scope: Scope, send: Send) -> None:
        """404 for an area served by another host: the envelope for API paths, else a page."""
        if scope["path"].startswith("/api"):
            lang = preferred_language(header(scope["headers"], b"accept-language"))
            err = ApiError(ErrorCode.NOT_FOUND)
            body = json_bytes(error_body(err.code, err.message(lang),
                                         str(scope.get("kliqs.request_id", ""))))
            await send_json(send, 404, body)
            return
        await views.status_page(scope, send, self.side, 404)

    async def _not_http(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "lifespan":
            await self.app(scope, receive, send)
            return
        side = self.side

        async def hooked() -> Message:
            message = await receive()
            if message["type"] == "lifespan.startup":
                await side.start()
            elif message["type"] == "lifespan.shutdown":
                # Before the app's own shut-down disposes the engines: flush the clicks.
                await side.stop()
                await asyncio.get_running_loop().run_in_executor(None, side.close)
            return message

        await self.app(scope, hooked, send)
