"""The dashboard at dash.kliqs.me (``/dash`` on one origin).

Server-rendered Jinja2 pages (autoescaped) with one CSS file and a little plain JavaScript;
sessions in HTTP-only cookies with only their hash stored; a CSRF token on every form.
"""

from __future__ import annotations

from pathlib import Path

from fastapi import APIRouter, FastAPI
from starlette.requests import Request
from starlette.responses import Response
from starlette.staticfiles import StaticFiles

from server.dash.i18n import language_of, translate
from server.dash.routes import auth, bio, keys, links, overview
from server.dash.web import (
    CsrfRefused,
    Dash,
    LoginRequired,
    login_redirect,
    not_found,
    optional_user,
    render,
)
from server.state import Kliqs

STATIC = Path(__file__).resolve().parent / "static"


def install(app: FastAPI, kliqs: Kliqs) -> None:
    """Add the dashboard's routes to ``app``."""
    app.state.dash = Dash.build(app, kliqs)
    app.mount("/dash/static", StaticFiles(directory=STATIC), name="dash-static")

    for module in (auth, overview, links, keys, bio):
        app.include_router(module.router, prefix="/dash", include_in_schema=False)
    fallback = APIRouter(prefix="/dash", include_in_schema=False)

    @fallback.api_route("/{rest:path}", methods=["GET", "POST"])
    async def unknown(request: Request, rest: str) -> Response:
        """Unknown dashboard pages get the dashboard's 404 page, not the API's JSON."""
        return not_found(request, await optional_user(request))

    app.include_router(fallback)

    async def on_login_required(request: Request, exc: Exception) -> Response:
        return login_redirect(request)

    async def on_csrf_refused(request: Request, exc: Exception) -> Response:
        user = await optional_user(request)
        message = translate(language_of(request), "error.csrf")
        return render(request, "error.html", user=user, status=403, message=message)

    app.add_exception_handler(LoginRequired, on_login_required)
    app.add_exception_handler(CsrfRefused, on_csrf_refused)
