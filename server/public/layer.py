"""The ASGI layer in front of the app: answers ``/{code}`` without FastAPI's routing.

The hot path is a plain redirect: lower-case the path, find the code in this worker's
cache, queue a click tuple and send a 302 with headers built when the entry was cached.
Anything else about a code goes to :mod:`server.public.views`; paths the app owns (``/``,
``/api/...``, ``/docs``, ``/dash``, ``/healthz``, ``/static``, every reserved word) pass
through untouched. The layer also hooks the ASGI lifespan to start and stop the click
flusher, so a graceful stop (SIGTERM, SIGINT) stores every buffered click.
"""

from __future__ import annotations

import asyncio
import logging

from starlette.types import ASGIApp, Message, Receive, Scope, Send

from server.api.errors import ApiError, ErrorCode
from server.api.http import error_body, preferred_language
from server.clock import utcnow
from server.public import views
from server.public.hosts import HostRules
from server.public.location import redirect_headers, with_query
from server.public.qr import KINDS
from server.public.responses import EMPTY_BODY, header, json_bytes, send_json
from server.public.side import PublicSide
from server.public.targets import DESTINATION, EXPIRES_AT, HEADERS, LINK_ID, PASSWORD_HASH

log = logging.getLogger("kliqs.public")


class PublicLayer:
    """Serves the public side; everything else goes on to ``app``."""

    def __init__(self, app: ASGIApp, side: PublicSide) -> None:
        self.app = app
        self.side = side
        self._cache_get = side.cache.get
        self._reserved = side.reserved
        self._record = side.recorder.add if side.recorder is not None else None
        self._resolve_now = side.resolve_now if side.sync_lookups else None
        hosts = HostRules(side.settings)
        self._hosts = hosts if hosts.active else None

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self._not_http(scope, receive, send)
            return
        key = scope["path"][1:].lower()
        if (
            "/" not in key
            and key
            and key not in self._reserved
            and (self._hosts is None or self._hosts.serves_public(scope))
        ):
            target = self._cache_get(key)
            if target is None:
                try:  # SQLite: a synchronous indexed read, no task switch
                    target = (self._resolve_now(key) if self._resolve_now is not None
                              else await self.side.resolve(key))
                except Exception:
                    await self._unavailable(scope, send, key)
                    return
            if (
                type(target) is tuple  # a link (see targets.LinkTarget)
                and target[PASSWORD_HASH] is None
                and target[EXPIRES_AT] is None
                and scope["method"] == "GET"
            ):
                # The common case: nothing awaited but the two sends.
                query = scope["query_string"]
                if self._record is not None:
                    self._record(target[LINK_ID], utcnow(), scope["headers"], scope.get("client"))
                await send({
                    "type": "http.response.start",
                    "status": 302,
                    "headers": redirect_headers(with_query(target[DESTINATION], query))
                    if query else target[HEADERS],
                })
                await send(EMPTY_BODY)
                return
            await views.answer(scope, receive, send, self.side, target)
            return
        await self._other(scope, receive, send, key)

    async def _unavailable(self, scope: Scope, send: Send, key: str) -> None:
        log.exception("looking up %r failed", key)
        await views.status_page(scope, send, self.side, 503)

    async def _code(self, scope: Scope, receive: Receive, send: Send, key: str) -> None:
        target = self._cache_get(key)
        if target is None:
            try:
                target = await self.side.resolve(key)
            except Exception:
                await self._unavailable(scope, send, key)
                return
        await views.answer(scope, receive, send, self.side, target)

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
                await asyncio.get_running_loop().run_in_executor(None, side.close)
            return message

        await self.app(scope, hooked, send)
