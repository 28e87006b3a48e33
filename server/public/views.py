"""The public side's less travelled answers: error pages, Bio Pages, the password gate, QR.

The plain redirect (a cache hit on a link without password) never comes here: it is
answered inline by :mod:`server.public.layer`.
"""

from __future__ import annotations

import math
from urllib.parse import parse_qs

from starlette.concurrency import run_in_threadpool
from starlette.types import Receive, Scope, Send

from server.api.http import preferred_language
from server.clock import timestamp, utcnow
from server.public import responses as r
from server.public.gate import CSRF_COOKIE, UNLOCK_COOKIE, Gate, Outcome
from server.public.location import redirect_headers, with_query
from server.public.qr import CACHE_CONTROL as QR_CACHE
from server.public.qr import KINDS
from server.public.side import PublicSide
from server.public.targets import (
    CODE, DESTINATION, EXPIRES_AT, HEADERS, LINK_ID, PASSWORD_HASH, TITLE, Absent, BioTarget,
    LinkTarget, Target, expand, is_link,
)
from server.public.texts import TEXTS
from server.public.visitors import client_ip

_FORM_LIMIT = 8 * 1024
_READ = ("GET", "HEAD")


def lang_of(scope: Scope) -> str:
    """The page language: Indonesian unless the visitor prefers English."""
    return preferred_language(r.header(scope["headers"], b"accept-language"))


def expired(target: LinkTarget) -> bool:
    """True once the link's expiry time has come (checked at every hit)."""
    expires_at = target[EXPIRES_AT]
    return expires_at is not None and expires_at <= utcnow()


async def status_page(scope: Scope, send: Send, side: PublicSide, status: int,
                      extra: tuple[tuple[bytes, bytes], ...] = ()) -> None:
    """A branded error page (404, 405, 410, 413, 503)."""
    body = side.pages.message(status, lang_of(scope))
    await r.send_page(send, status, body, head=scope["method"] == "HEAD", extra=extra)


def _allow(methods: str) -> tuple[tuple[bytes, bytes], ...]:
    return ((b"allow", methods.encode()),)


async def answer(scope: Scope, receive: Receive, send: Send, side: PublicSide, code: str,
                 target: Target) -> None:
    """Everything about ``/{code}`` except the plain redirect of a ``GET``."""
    method = scope["method"]
    target = expand(code, target)
    if isinstance(target, Absent):
        await status_page(scope, send, side, target.status)
    elif isinstance(target, BioTarget):
        if method not in _READ:
            await status_page(scope, send, side, 405, _allow("GET, HEAD"))
            return
        body = side.pages.bio(target, lang_of(scope))
        await r.send_page(send, 200, body, head=method == "HEAD")
    elif expired(target):
        await status_page(scope, send, side, 410)
    elif target[PASSWORD_HASH] is None:
        if method in _READ:
            await redirect(scope, send, side, target)
        else:
            await status_page(scope, send, side, 405, _allow("GET, HEAD"))
    elif method in _READ:
        await _gate_get(scope, send, side, target)
    elif method == "POST":
        await _gate_post(scope, receive, send, side, target)
    else:
        await status_page(scope, send, side, 405, _allow("GET, HEAD, POST"))


def record(scope: Scope, side: PublicSide, target: LinkTarget) -> None:
    """Queue the click of a redirect (``GET`` and the gate's ``POST``; not ``HEAD``)."""
    if side.recorder is not None and scope["method"] != "HEAD":
        side.recorder.add(target[LINK_ID], timestamp(), scope["headers"], scope.get("client"))


async def redirect(scope: Scope, send: Send, side: PublicSide, target: LinkTarget,
                   status: int = 302, extra: tuple[tuple[bytes, bytes], ...] = ()) -> None:
    """The redirect to the destination, the visitor's query string appended."""
    query = scope["query_string"]
    headers = redirect_headers(with_query(target[DESTINATION], query)) if query else target[HEADERS]
    record(scope, side, target)
    await r.send_redirect(send, (*headers, *extra) if extra else headers, status)


async def _gate_get(scope: Scope, send: Send, side: PublicSide, target: LinkTarget) -> None:
    await side.ensure_secret()
    gate = side.gate
    assert gate is not None
    jar = r.cookies(scope["headers"])
    if gate.unlocked(target, jar.get(UNLOCK_COOKIE)):
        await redirect(scope, send, side, target)
        return
    await _form(scope, send, side, gate, target, 200, nonce=jar.get(CSRF_COOKIE))


async def _form(scope: Scope, send: Send, side: PublicSide, gate: Gate, target: LinkTarget,
                status: int, *, nonce: str | None, error: str | None = None,
                retry_after: int | None = None) -> None:
    nonce = nonce or gate.new_nonce()
    body = side.pages.password_form(
        lang_of(scope), title=target[TITLE], csrf=gate.csrf_token(target[CODE], nonce),
        error=error, locked=retry_after is not None,
    )
    extra = [(b"set-cookie", gate.csrf_cookie(target[CODE], nonce))]
    if retry_after is not None:
        extra.append((b"retry-after", str(retry_after).encode()))
    await r.send_page(send, status, body, head=scope["method"] == "HEAD", cache=r.NO_STORE,
                      extra=extra)


async def _gate_post(scope: Scope, receive: Receive, send: Send, side: PublicSide,
                     target: LinkTarget) -> None:
    form = await read_form(receive)
    if form is None:
        await status_page(scope, send, side, 413)
        return
    await side.ensure_secret()
    gate, hasher = side.gate, side.hasher
    assert gate is not None and hasher is not None
    t = TEXTS[lang_of(scope)]
    nonce = r.cookies(scope["headers"]).get(CSRF_COOKIE)
    if not gate.csrf_ok(target[CODE], nonce, form.get("csrf")):
        await _form(scope, send, side, gate, target, 403, nonce=None, error=t["gate_expired_form"])
        return
    outcome: Outcome = await run_in_threadpool(
        gate.attempt, side.kliqs.engine, target, hasher.gate(_visitor_ip(scope, side)),
        form.get("password", ""), utcnow(),
    )
    if outcome.ok:
        cookie = ((b"set-cookie", gate.unlock_cookie(target)),)
        await redirect(scope, send, side, target, 303, cookie)
    elif outcome.retry_after is not None:
        minutes = max(1, math.ceil(outcome.retry_after / 60))
        await _form(scope, send, side, gate, target, 429, nonce=nonce,
                    error=t["gate_locked"].format(minutes=minutes),
                    retry_after=outcome.retry_after)
    else:
        await _form(scope, send, side, gate, target, 401, nonce=nonce, error=t["gate_wrong"])


def _visitor_ip(scope: Scope, side: PublicSide) -> str:
    name = side.settings.client_ip_header
    forwarded = r.header(scope["headers"], name.lower().encode()) if name else None
    client = scope.get("client")
    return client_ip(forwarded, client[0] if client else None)


async def read_form(receive: Receive) -> dict[str, str] | None:
    """An urlencoded form body (first value per name), ``None`` when too large."""
    body = b""
    more = True
    while more:
        message = await receive()
        if message["type"] == "http.disconnect":
            return {}
        body += message.get("body", b"")
        more = message.get("more_body", False)
        if len(body) > _FORM_LIMIT:
            return None
    try:
        fields = parse_qs(body.decode("utf-8", "replace"), keep_blank_values=True,
                          max_num_fields=20)
    except ValueError:
        return {}
    return {name: values[0] for name, values in fields.items()}


async def qr_code(scope: Scope, send: Send, side: PublicSide, key: str, name: str) -> None:
    """``/{code}/qr.svg`` or ``/{code}/qr.png``: the QR code of the short URL."""
    if scope["method"] not in _READ:
        await status_page(scope, send, side, 405, _allow("GET, HEAD"))
        return
    target = expand(key, side.cached(key) or await side.resolve(key))
    if isinstance(target, Absent):
        await status_page(scope, send, side, target.status)
        return
    if is_link(target) and expired(target):  # type: ignore[arg-type]
        await status_page(scope, send, side, 410)
        return
    kind, content_type = KINDS[name]
    url = f"{side.base_url}/{key}"
    body = side.qr.peek(url, kind) or await run_in_threadpool(side.qr.get, url, kind)
    await r.send_bytes(send, body, content_type, head=scope["method"] == "HEAD",
                       cache_control=QR_CACHE)
