"""Sign-up, log-in, log-out and the language switch."""

from __future__ import annotations

from datetime import timedelta
from functools import cache

from fastapi import APIRouter
from sqlalchemy import select, update
from starlette.concurrency import run_in_threadpool
from starlette.requests import Request
from starlette.responses import Response

from server.clock import utcnow
from server.dash import i18n
from server.dash.attempts import AttemptLimit, forget_attempt, record_attempt
from server.dash.sessions import create_session, end_session
from server.dash.web import (
    Dash,
    OptionalUser,
    PublicForm,
    SessionForm,
    dash_of,
    redirect,
    render,
    safe_next,
    text,
)
from server.db.models import Account
from server.public.visitors import client_ip
from server.services.accounts import AccountError, create_account, normalise_email
from server.services.passwords import hash_password, verify_password

router = APIRouter()

MIN_PASSWORD, MAX_PASSWORD = 8, 128


@cache
def _dummy_hash() -> str:
    # Verified against for unknown emails, so a wrong email costs the same as a wrong password.
    return hash_password("kliqs-no-such-account")


def _client_ip(request: Request, dash: Dash) -> str:
    """The address log-in limits count by: the trusted proxy header when one is configured
    (``KLIQS_CLIENT_IP_HEADER``, as for clicks), else the socket peer."""
    name = dash.kliqs.settings.client_ip_header
    forwarded = request.headers.get(name) if name else None
    return client_ip(forwarded, request.client.host if request.client else None) or "unknown"


def _limit(dash: Dash) -> AttemptLimit:
    settings = dash.kliqs.settings
    return AttemptLimit(
        settings.dash_login_max_attempts, timedelta(minutes=settings.dash_login_window_minutes)
    )


def _signed_in(dash: Dash, token: str, target: str) -> Response:
    response = redirect(target)
    dash.cookies.set(
        response, dash.cookies.session, token, max_age=int(dash.session_lifetime.total_seconds())
    )
    return response


@router.get("/signup")
async def signup_page(request: Request, user: OptionalUser) -> Response:
    """The sign-up form."""
    if user is not None:
        return redirect("/dash")
    return render(request, "signup.html", user=None, email="", error=None)


@router.post("/signup")
async def signup(request: Request, form: PublicForm) -> Response:
    """Create an account with email and password, then sign in."""
    dash = dash_of(request)
    email, password = text(form, "email"), str(form.get("password") or "")
    error = _signup_problem(email, password)
    if error is None:
        # Counted before the (costly) hashing: the per-IP limit also bounds sign-up floods.
        allowed = await dash.kliqs.run(_record, dash, "signup", email, _client_ip(request, dash))
        error = None if allowed is not None else "error.too_many"
    if error is None:
        password_hash = await run_in_threadpool(hash_password, password)
        token = await dash.kliqs.run(_create, dash, email, password_hash)
        if token is not None:
            return _signed_in(dash, token, "/dash?msg=welcome")
        error = "error.email_taken"
    status = 429 if error == "error.too_many" else 400
    return render(request, "signup.html", user=None, email=email, error=error, status=status)


def _signup_problem(email: str, password: str) -> str | None:
    try:
        normalise_email(email)
    except AccountError:
        return "error.email_invalid"
    if not MIN_PASSWORD <= len(password) <= MAX_PASSWORD:
        return "error.password_length"
    return None


def _record(dash: Dash, kind: str, email: str, ip: str) -> int | None:
    """Record a try; its id, or None when the email or the IP is over the limit."""
    with dash.kliqs.engine.begin() as conn:
        attempt = record_attempt(conn, kind, email, ip, limit=_limit(dash), now=utcnow())
    return attempt.id if attempt.allowed else None


def _create(dash: Dash, email: str, password_hash: str) -> str | None:
    """The new account's first session token, or None when the email is taken."""
    with dash.kliqs.engine.begin() as conn:
        try:
            account_id = create_account(conn, email)
        except AccountError:
            return None
        conn.execute(
            update(Account).where(Account.id == account_id).values(password_hash=password_hash)
        )
        return create_session(conn, account_id, now=utcnow(), lifetime=dash.session_lifetime)


@router.get("/login")
async def login_page(request: Request, user: OptionalUser) -> Response:
    """The log-in form."""
    target = safe_next(request.query_params.get("next"))
    if user is not None:
        return redirect(target)
    msg = request.query_params.get("msg")
    notice = "notice.logged_out" if msg == "logged_out" else None
    return render(request, "login.html", user=None, email="", error=None, next=target, notice=notice)


@router.post("/login")
async def login(request: Request, form: PublicForm) -> Response:
    """Check email and password (rate limited), then start a session."""
    dash = dash_of(request)
    email, password = text(form, "email"), str(form.get("password") or "")
    target = safe_next(text(form, "next"))
    attempt = await dash.kliqs.run(_record, dash, "login", email, _client_ip(request, dash))
    if attempt is None:
        return render(request, "login.html", user=None, email=email, error="error.too_many",
                      next=target, notice=None, status=429)
    stored = await dash.kliqs.run(_password_of, dash, email)
    ok = await run_in_threadpool(verify_password, stored[1] if stored else _dummy_hash(), password)
    if not (ok and stored):
        return render(request, "login.html", user=None, email=email, error="error.bad_login",
                      next=target, notice=None, status=401)
    old = request.cookies.get(dash.cookies.session)
    token = await dash.kliqs.run(_start, dash, stored[0], attempt, old)
    return _signed_in(dash, token, target)


def _password_of(dash: Dash, email: str) -> tuple[str, str] | None:
    try:
        cleaned = normalise_email(email)
    except AccountError:
        return None
    with dash.kliqs.reader.begin() as conn:
        row = conn.execute(
            select(Account.id, Account.password_hash).where(Account.email == cleaned)
        ).first()
    if row is None or row.password_hash is None:
        return None
    return str(row.id), str(row.password_hash)


def _start(dash: Dash, account_id: str, attempt_id: int, old_token: str | None) -> str:
    with dash.kliqs.engine.begin() as conn:
        forget_attempt(conn, attempt_id)
        if old_token:  # a new session id at every sign-in: no session fixation
            end_session(conn, old_token)
        return create_session(conn, account_id, now=utcnow(), lifetime=dash.session_lifetime)


@router.post("/logout")
async def logout(request: Request, form: SessionForm) -> Response:
    """End the session server-side and drop the cookie."""
    dash = dash_of(request)
    token = request.cookies.get(dash.cookies.session, "")
    await dash.kliqs.run(_end, dash, token)
    response = redirect("/dash/login?msg=logged_out")
    response.delete_cookie(dash.cookies.session, path="/", secure=dash.cookies.secure,
                           httponly=True, samesite="lax")
    return response


def _end(dash: Dash, token: str) -> None:
    with dash.kliqs.engine.begin() as conn:
        end_session(conn, token)


@router.get("/lang/{lang}")
async def switch_language(request: Request, lang: str) -> Response:
    """Remember the chosen language in a cookie and go back."""
    response = redirect(safe_next(request.query_params.get("next")))
    if lang in i18n.LANGUAGES:
        response.set_cookie(i18n.LANG_COOKIE, lang, max_age=365 * 86400, path="/",
                            secure=dash_of(request).cookies.secure, samesite="lax")
    return response
