"""The connector's web app: ``/healthz`` and the platforms' ``/webhooks/<platform>`` routes.

A platform registers a handler with :func:`register_webhook_route`; the app reads the body
(at most ``KLIQS_CONNECTOR_MAX_BODY_BYTES``, else 413) and hands the handler a
:class:`WebhookRequest` with the raw bytes, so signatures are checked on exactly what was
sent. Handlers return a Starlette response; :func:`ok_response` and :func:`error_response`
build the connector's JSON envelope ``{"success": false, "error": CODE, "message": ...}``.
An ``async`` handler runs on the event loop and stores through
:func:`~kliqs_core.connector.inbox.accept_webhook_async` (the fast path: the WooCommerce
plug-in's); a plain function runs on a thread of its own, as it writes the database.
Webhook requests are served straight from ASGI; the rest (health, lifespan) by Starlette.
"""

from __future__ import annotations

import asyncio
import contextvars
import inspect
import logging
from collections.abc import AsyncIterator, Awaitable, Callable, Iterable, Mapping
from concurrent.futures import ThreadPoolExecutor
from contextlib import asynccontextmanager
from dataclasses import dataclass
from typing import Any

from starlette.applications import Starlette
from starlette.concurrency import run_in_threadpool
from starlette.datastructures import Headers, QueryParams
from starlette.exceptions import HTTPException
from starlette.requests import ClientDisconnect, Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route
from starlette.types import Receive, Scope, Send

from kliqs_core.connector.db import Database
from kliqs_core.connector.notify import registered_notifiers
from kliqs_core.connector.platforms import registered_platforms

__all__ = [
    "ConnectorApp",
    "WebhookHandler",
    "WebhookRequest",
    "create_app",
    "error_response",
    "ok_response",
    "register_webhook_route",
    "registered_webhook_routes",
    "unregister_webhook_route",
]

log = logging.getLogger(__name__)

_ALL_METHODS = ["GET", "HEAD", "POST", "PUT", "PATCH", "DELETE"]


@dataclass(frozen=True)
class WebhookRequest:
    """One webhook request as a handler sees it; ``headers`` look-ups ignore case."""

    platform: str
    method: str
    path: str
    headers: Mapping[str, str]
    query: Mapping[str, str]
    #: The raw body, byte for byte: verify signatures on this, then parse.
    body: bytes
    client_host: str | None = None


WebhookHandler = Callable[[WebhookRequest], Response | Awaitable[Response]]


@dataclass(frozen=True)
class _Route:
    handler: WebhookHandler
    methods: frozenset[str]


_ROUTES: dict[str, _Route] = {}


def register_webhook_route(
    platform: str, handler: WebhookHandler, *, methods: Iterable[str] = ("POST",)
) -> None:
    """Serve ``/webhooks/<platform>`` with ``handler`` for ``methods`` (registering again replaces).

    Routes are looked up per request, so registering after the app was built works too.
    """
    _ROUTES[platform] = _Route(handler, frozenset(method.upper() for method in methods))


def unregister_webhook_route(platform: str) -> None:
    """Remove a platform's route (tests)."""
    _ROUTES.pop(platform, None)


def registered_webhook_routes() -> tuple[str, ...]:
    """The platforms with a webhook route, sorted."""
    return tuple(sorted(_ROUTES))


def ok_response(data: Any = None, status: int = 200) -> JSONResponse:
    """``{"success": true, "data": ...}``."""
    return JSONResponse({"success": True, "data": data}, status_code=status)


def error_response(status: int, code: str, message: str) -> JSONResponse:
    """``{"success": false, "error": CODE, "message": ...}``."""
    return JSONResponse({"success": False, "error": code, "message": message}, status_code=status)


def create_app(
    *, database: Database | None = None, max_body_bytes: int | None = None
) -> ConnectorApp:
    """The connector ASGI app; ``database`` and the body cap default to the runtime's."""
    from kliqs_core.connector import runtime

    def db() -> Database:
        return database or runtime.get_database()

    async def healthz(_: Request) -> Response:
        try:
            await run_in_threadpool(db().ping)
        except Exception as exc:
            log.warning("health check: database unavailable: %s", exc)
            return error_response(
                503, "DATABASE_UNAVAILABLE", "The connector database is unavailable."
            )
        return ok_response(
            {
                "database": "ok",
                "platforms": list(registered_platforms()),
                "webhooks": list(registered_webhook_routes()),
                "notifiers": [name for name, _ in registered_notifiers()],
            }
        )

    @asynccontextmanager
    async def lifespan(_: Starlette) -> AsyncIterator[None]:
        yield
        # Products answered just before the stop: publish them now rather than wait for the
        # sweeper.
        await run_in_threadpool(runtime.close_publisher)

    rest = Starlette(
        routes=[Route("/healthz", healthz, methods=["GET"])],
        exception_handlers={HTTPException: _http_error},
        lifespan=lifespan,
    )
    return ConnectorApp(rest, max_body_bytes or runtime.get_settings().connector_max_body_bytes)


_WEBHOOKS_PREFIX = "/webhooks/"


class ConnectorApp:
    """``/webhooks/<platform>`` served straight from ASGI; everything else by Starlette.

    Webhooks are the hot path (a product import is hundreds a second), and Starlette's
    middleware stack, router and ``Request`` cost the event loop more than a third of a
    webhook's CPU (measured with py-spy in ``bench/pipeline``).
    """

    def __init__(self, rest: Starlette, max_body_bytes: int) -> None:
        #: Health, lifespan and every other path.
        self.rest = rest
        self.max_body_bytes = max_body_bytes

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "http":
            platform = _webhook_platform(scope["path"])
            if platform is not None:
                response = await _dispatch(scope, receive, platform, self.max_body_bytes)
                if response is not None:
                    await response(scope, receive, send)
                return
        await self.rest(scope, receive, send)


def _webhook_platform(path: str) -> str | None:
    """``shop`` for ``/webhooks/shop``; None for any other path."""
    if not path.startswith(_WEBHOOKS_PREFIX):
        return None
    platform = path[len(_WEBHOOKS_PREFIX) :]
    return platform if platform and "/" not in platform else None


# Shared by every request without a query string (most webhooks): parsing even an empty
# one cost 3 % of the web process under a burst. Immutable, so sharing is safe.
_NO_QUERY = QueryParams()


async def _dispatch(scope: Scope, receive: Receive, platform: str, cap: int) -> Response | None:
    """The answer to one webhook request; None when the client went away first."""
    route = _ROUTES.get(platform)
    if route is None:
        return error_response(404, "NOT_FOUND", f"No webhook route for {platform!r}.")
    method = scope["method"]
    if method not in route.methods:
        response = error_response(405, "METHOD_NOT_ALLOWED", f"{method} is not allowed here.")
        response.headers["Allow"] = ", ".join(sorted(route.methods))
        return response
    headers = Headers(scope=scope)
    try:
        body = await _read_capped(receive, headers, cap)
    except ClientDisconnect:
        return None
    if body is None:
        return error_response(413, "PAYLOAD_TOO_LARGE", f"The body is larger than {cap} bytes.")
    client = scope.get("client")
    hook = WebhookRequest(
        platform=platform,
        method=method,
        path=scope["path"],
        headers=headers,
        query=QueryParams(scope["query_string"]) if scope["query_string"] else _NO_QUERY,
        body=body,
        client_host=client[0] if client else None,
    )
    try:
        return await _call(route.handler, hook)
    except Exception:
        # A 5xx makes the shop deliver again (Shopify, Saleor do); nothing half-stored stays.
        log.exception("webhook handler for %s failed", platform)
        return error_response(500, "INTERNAL_ERROR", "The webhook could not be stored.")


# Sync handlers (they write the database) run on threads of their own: one per pooled
# PostgreSQL connection is enough, since more would only wait for a connection. Handing a
# call to this executor costs the event loop a fraction of anyio's thread hop (capacity
# limiter, cancel scope, run-vars): measured, that hop was a fifth of the web process' CPU
# under a burst of webhooks.
_HANDLER_THREADS = 16
_handlers: ThreadPoolExecutor | None = None


def _handler_pool() -> ThreadPoolExecutor:
    global _handlers
    if _handlers is None:
        _handlers = ThreadPoolExecutor(_HANDLER_THREADS, thread_name_prefix="kliqs-webhook")
    return _handlers


async def _call(handler: WebhookHandler, hook: WebhookRequest) -> Response:
    if inspect.iscoroutinefunction(handler):
        result = await handler(hook)
    else:
        context = contextvars.copy_context()  # as anyio does: the handler sees our context
        result = await asyncio.get_running_loop().run_in_executor(
            _handler_pool(), context.run, handler, hook
        )
    if inspect.isawaitable(result):
        result = await result
    if not isinstance(result, Response):
        raise TypeError(f"webhook handler returned {type(result).__name__}, not a Response")
    return result


async def _read_capped(receive: Receive, headers: Headers, cap: int) -> bytes | None:
    """The whole body, or None as soon as it is known to be larger than ``cap`` bytes."""
    declared = headers.get("content-length")
    if declared is not None and declared.isdigit() and int(declared) > cap:
        return None
    chunks: list[bytes] = []
    size = 0
    while True:
        message = await receive()
        if message["type"] == "http.disconnect":
            raise ClientDisconnect()
        chunk = message.get("body", b"")
        size += len(chunk)
        if size > cap:
            return None
        chunks.append(chunk)
        if not message.get("more_body", False):
            return b"".join(chunks)


async def _http_error(_: Request, exc: Exception) -> Response:
    assert isinstance(exc, HTTPException)
    codes = {404: "NOT_FOUND", 405: "METHOD_NOT_ALLOWED"}
    return error_response(
        exc.status_code, codes.get(exc.status_code, "HTTP_ERROR"), str(exc.detail)
    )
