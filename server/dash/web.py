"""The dashboard's web plumbing: who is signed in, CSRF-checked forms, pages and cookies."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, timedelta
from pathlib import Path
from typing import Annotated, Any
from urllib.parse import quote, urlsplit

from fastapi import Depends, FastAPI
from jinja2 import Environment, FileSystemLoader, StrictUndefined, select_autoescape
from starlette.datastructures import FormData
from starlette.requests import Request
from starlette.responses import HTMLResponse, RedirectResponse, Response

from server.api.errors import ErrorCode
from server.clock import utcnow
from server.dash import i18n
from server.dash.messages import MESSAGES
from server.dash.sessions import DashUser, find_session, new_token, tokens_match
from server.state import Kliqs

TEMPLATES = Path(__file__).resolve().parent / "templates"
_USER_KEY = "kliqs.dash_user"  # the looked-up user, kept in the scope for the request


class LoginRequired(Exception):
    """A signed-in page was asked for without a live session."""


class CsrfRefused(Exception):
    """A form arrived without the token of its session (or pre-session cookie)."""


@dataclass(frozen=True)
class CookiePolicy:
    """Cookie names and flags: ``Secure`` and the ``__Host-`` prefix when served over https."""

    secure: bool
    session: str
    csrf: str

    @classmethod
    def for_base_url(cls, base_url: str) -> CookiePolicy:
        """The policy for a public base URL (https means secure cookies)."""
        secure = base_url.lower().startswith("https://")
        prefix = "__Host-" if secure else ""
        return cls(secure, f"{prefix}kliqs_session", f"{prefix}kliqs_csrf")

    def set(self, response: Response, name: str, value: str, max_age: int | None) -> None:
        """Set an HTTP-only, SameSite=Lax cookie for the whole origin."""
        response.set_cookie(
            name, value, max_age=max_age, path="/", secure=self.secure, httponly=True,
            samesite="lax",
        )


@dataclass
class Dash:
    """The dashboard's share of the process: server state, templates, cookie policy."""

    kliqs: Kliqs
    api: FastAPI
    env: Environment
    cookies: CookiePolicy

    @classmethod
    def build(cls, api: FastAPI, kliqs: Kliqs) -> Dash:
        """Templates with autoescape on, and the cookie policy of the configured base URL."""
        env = Environment(
            loader=FileSystemLoader(TEMPLATES),
            autoescape=select_autoescape(default=True),
            undefined=StrictUndefined,
            trim_blocks=True,
            lstrip_blocks=True,
        )
        return cls(kliqs, api, env, CookiePolicy.for_base_url(kliqs.settings.public_base_url))

    @property
    def session_lifetime(self) -> timedelta:
        """How long a sign-in lasts."""
        return timedelta(days=self.kliqs.settings.dash_session_days)

    @property
    def public_base(self) -> str:
        """Where short links and Bio Pages live."""
        return self.kliqs.settings.public_base_url


def dash_of(request: Request) -> Dash:
    """The :class:`Dash` installed on the app."""
    return request.app.state.dash  # type: ignore[no-any-return]


async def optional_user(request: Request) -> DashUser | None:
    """The signed-in user, or None (looked up once per request)."""
    cached: tuple[DashUser | None] | None = request.scope.get(_USER_KEY)
    if cached is not None:
        return cached[0]
    dash = dash_of(request)
    token = request.cookies.get(dash.cookies.session)
    user = None
    if token:
        user = await dash.kliqs.run(_find, dash.kliqs, token)
    request.scope[_USER_KEY] = (user,)
    return user


def _find(kliqs: Kliqs, token: str) -> DashUser | None:
    with kliqs.reader.begin() as conn:
        return find_session(conn, token, now=utcnow())


async def require_user(user: Annotated[DashUser | None, Depends(optional_user)]) -> DashUser:
    """The signed-in user, or a redirect to the log-in page."""
    if user is None:
        raise LoginRequired
    return user


async def session_form(request: Request, user: Annotated[DashUser, Depends(require_user)]) -> FormData:
    """The posted form, after checking the session's synchronizer token."""
    form = await request.form()
    if not tokens_match(user.csrf, _field(form, "csrf")):
        raise CsrfRefused
    return form


async def public_form(request: Request) -> FormData:
    """A signed-out form (log-in, sign-up): double-submit of the pre-session cookie."""
    form = await request.form()
    cookie = request.cookies.get(dash_of(request).cookies.csrf, "")
    if not tokens_match(cookie, _field(form, "csrf")):
        raise CsrfRefused
    return form


def _field(form: FormData, name: str) -> str | None:
    value = form.get(name)
    return value if isinstance(value, str) else None


OptionalUser = Annotated[DashUser | None, Depends(optional_user)]
CurrentUser = Annotated[DashUser, Depends(require_user)]
SessionForm = Annotated[FormData, Depends(session_form)]
PublicForm = Annotated[FormData, Depends(public_form)]


def text(form: FormData, name: str) -> str:
    """A form field as stripped text ('' when missing or a file)."""
    value = form.get(name)
    return value.strip() if isinstance(value, str) else ""


def safe_next(target: str | None, default: str = "/dash") -> str:
    """``target`` if it is a dashboard path on this origin, else ``default`` (no open redirect)."""
    if not target or not target.startswith("/dash") or "\\" in target:
        return default
    parts = urlsplit(target)
    if parts.scheme or parts.netloc:
        return default
    return target


def redirect(url: str) -> RedirectResponse:
    """A 303 See Other (the browser follows with GET)."""
    return RedirectResponse(url, status_code=303)


def login_redirect(request: Request) -> RedirectResponse:
    """Back to the log-in page, remembering where the user wanted to go."""
    here = request.url.path + (f"?{request.url.query}" if request.url.query else "")
    return redirect(f"/dash/login?next={quote(here, safe='')}")


def render(
    request: Request,
    template: str,
    *,
    user: DashUser | None,
    status: int = 200,
    **context: Any,
) -> HTMLResponse:
    """A page in the request's language, with the form token and the security headers."""
    dash = dash_of(request)
    lang = i18n.language_of(request)
    pre_token = request.cookies.get(dash.cookies.csrf) or new_token()
    page = dash.env.get_template(template).render(
        lang=lang,
        user=user,
        csrf=user.csrf if user else pre_token,
        here=request.url.path,
        public_base=dash.public_base,
        t=lambda key, **params: i18n.translate(lang, key, **params),
        has_text=lambda key: key in MESSAGES,
        num=lambda value: i18n.format_number(value, lang),
        date=lambda value: i18n.format_date(value, lang),
        datetime=lambda value: i18n.format_datetime(value, lang),
        day=lambda iso_text: i18n.format_date(date.fromisoformat(iso_text[:10]), lang),
        **{"nav": None, "notice": None, "error": None, **context},
    )
    response = HTMLResponse(page, status, headers=security_headers(dash))
    if user is None and request.cookies.get(dash.cookies.csrf) != pre_token:
        dash.cookies.set(response, dash.cookies.csrf, pre_token, max_age=None)
    return response


def not_found(request: Request, user: DashUser | None) -> HTMLResponse:
    """The dashboard's 404 page (another account's link or key is simply not found)."""
    lang = i18n.language_of(request)
    return render(request, "error.html", user=user, status=404,
                  message=ErrorCode.NOT_FOUND.message(lang))


def security_headers(dash: Dash) -> dict[str, str]:
    """No inline script, no framing, nothing cached: pages hold tokens and account data."""
    public = urlsplit(dash.public_base)
    public_origin = f"{public.scheme}://{public.netloc}" if public.netloc else ""
    csp = (
        "default-src 'self'; script-src 'self'; style-src 'self'; "
        f"img-src 'self' data: {public_origin}; connect-src 'self'; "
        "frame-ancestors 'none'; form-action 'self'; base-uri 'none'; object-src 'none'"
    )
    return {
        "Content-Security-Policy": csp,
        "X-Frame-Options": "DENY",
        "X-Content-Type-Options": "nosniff",
        "Referrer-Policy": "same-origin",
        "Cache-Control": "no-store",
    }
