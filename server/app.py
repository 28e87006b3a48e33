"""The Kliqs ASGI application: API, docs, dashboard and the public side on one origin."""

from __future__ import annotations

import inspect
import logging
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any

from fastapi import FastAPI
from fastapi.openapi.utils import get_openapi
from starlette.responses import HTMLResponse, JSONResponse
from starlette.staticfiles import StaticFiles
from starlette.types import ASGIApp

from server import clock, dash, public
from server.api import handlers
from server.api.hot_routes import HotRoutes
from server.api.router import api_router
from server.config import Settings, get_settings
from server.state import Kliqs

API_DESCRIPTION = (
    "Create and manage Kliqs short links from your backend. Authenticate every request with "
    "`Authorization: Bearer kliqs_sk_live_...`. Answers use the envelope "
    '`{"success": true, "data": ...}` or `{"success": false, "error": CODE, "message": ...}`; '
    "messages are Indonesian unless `Accept-Language: en`."
)


def create_app(settings: Settings | None = None) -> ASGIApp:
    """Build the whole server for ``settings`` (the environment's by default)."""
    settings = settings or get_settings()
    clock.set_offset(settings.clock_offset_seconds)
    kliqs = Kliqs.build(settings)
    api = _fastapi_app(kliqs)
    dash.install(api, kliqs)
    public.install(api, kliqs)
    # The public layer is outermost: a plain redirect skips even the request-id middleware
    # (it sets its own id); everything else passes that middleware inside the layer.
    return public.wrap(HotRoutes(api), kliqs)


def _fastapi_app(kliqs: Kliqs) -> FastAPI:
    @asynccontextmanager
    async def lifespan(_app: FastAPI) -> AsyncIterator[None]:
        logging.getLogger("kliqs").setLevel(kliqs.settings.log_level.upper())
        kliqs.start()
        yield
        kliqs.dispose()

    app = FastAPI(
        **_no_telemetry(),
        title="Kliqs API",
        version="1.0.0",
        description=API_DESCRIPTION,
        openapi_url="/api/v1/openapi.json",
        docs_url=None,
        redoc_url=None,
        lifespan=lifespan,
    )
    app.state.kliqs = kliqs
    handlers.install(app)
    app.include_router(api_router)
    _mount_docs(app)
    app.openapi = lambda: _openapi(app)  # type: ignore[method-assign]
    return app


def _no_telemetry() -> dict[str, Any]:
    """Newer FastAPI traces every request with OpenTelemetry by default: measurable on the
    hot path and not something we export. Turned off where the option exists."""
    if "telemetry" not in inspect.signature(FastAPI).parameters:
        return {}
    off = {"tracing": False, "metrics": False, "logs": False, "operation_spans": False}
    return {"telemetry": off}


def _openapi(app: FastAPI) -> dict[str, Any]:
    if app.openapi_schema:
        return app.openapi_schema
    schema = get_openapi(
        title=app.title, version=app.version, description=app.description, routes=app.routes
    )
    from server.api import schemas

    components = schema.setdefault("components", {})
    components.setdefault("schemas", {})
    for model in (schemas.LinkCreate, schemas.LinkPatch):
        components["schemas"][model.__name__] = model.model_json_schema(
            ref_template="#/components/schemas/{model}"
        )
    components["securitySchemes"] = {
        "bearerAuth": {"type": "http", "scheme": "bearer", "bearerFormat": "kliqs_sk_live_..."}
    }
    for path, operations in schema["paths"].items():
        if path.startswith("/api/v1/"):
            for operation in operations.values():
                operation["security"] = [{"bearerAuth": []}]
    schema["servers"] = [{"url": "/"}]
    app.openapi_schema = schema
    return schema


def _mount_docs(app: FastAPI) -> None:
    from swagger_ui_bundle import swagger_ui_path

    app.mount("/docs/assets", StaticFiles(directory=swagger_ui_path), name="swagger-assets")

    @app.get("/docs", include_in_schema=False)
    async def docs() -> HTMLResponse:
        return HTMLResponse(_DOCS_HTML)

    @app.get("/healthz", include_in_schema=False)
    async def healthz() -> JSONResponse:
        return JSONResponse({"success": True, "data": {"status": "ok"}})


_DOCS_HTML = """<!doctype html>
<html lang="id"><head><meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>Kliqs API docs</title>
<link rel="stylesheet" href="/docs/assets/swagger-ui.css"></head>
<body><div id="swagger-ui"></div>
<script src="/docs/assets/swagger-ui-bundle.js"></script>
<script>window.ui = SwaggerUIBundle({url: "/api/v1/openapi.json", dom_id: "#swagger-ui"});</script>
</body></html>"""
