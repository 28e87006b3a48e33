"""The API's busiest routes served straight from their handlers.

FastAPI's stack (error and exception middleware, exit stacks, body limits, matching the path
against every route of the API, dashboard and docs in turn) costs more than a whole link
creation on SQLite. These routes skip it: the same handler functions, the same envelope for
:class:`ApiError`, and anything unexpected still reaches ``RequestIdMiddleware``'s 500. The
FastAPI routes stay registered, so the OpenAPI document describes them as before.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable

from fastapi import FastAPI
from starlette.requests import Request
from starlette.responses import Response
from starlette.types import Receive, Scope, Send

from server.api.errors import ApiError
from server.api.http import error_response
from server.api.routes import links, me

Handler = Callable[[Request], Awaitable[Response]]

HOT: dict[tuple[str, str], Handler] = {
    ("POST", "/api/v1/links"): links.create_link,
    ("GET", "/api/v1/links"): links.list_links,
    ("GET", "/api/v1/me"): me.me,
}


class HotRoutes:
    """Dispatches :data:`HOT` routes directly; everything else goes to ``app``."""

    def __init__(self, app: FastAPI) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        handler = HOT.get((scope.get("method", ""), scope.get("path", "")))
        if handler is None or scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        scope["app"] = self.app
        request = Request(scope, receive)
        try:
            response = await handler(request)
        except ApiError as err:
            response = error_response(err, request)
        await response(scope, receive, send)
