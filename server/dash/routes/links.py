"""``/dash/links``: every link of the account (API-made ones too): list, create, detail, delete.

The same service functions as the API, called with the signed-in account: the plan's link
limit holds, the monthly API request quota is not touched (it counts API requests only).
"""

from __future__ import annotations

import re
from typing import Any

from fastapi import APIRouter
from sqlalchemy import Connection
from sqlalchemy.engine import Row
from starlette.concurrency import run_in_threadpool
from starlette.datastructures import FormData
from starlette.requests import Request
from starlette.responses import Response

from server.api.errors import ApiError
from server.clock import utcnow
from server.dash.charts import bar_chart
from server.dash.i18n import language_of, translate
from server.dash.sessions import DashUser
from server.dash.web import (
    CurrentUser,
    SessionForm,
    dash_of,
    not_found,
    redirect,
    render,
    text,
)
from server.public.stats import link_stats
from server.services import links
from server.services.passwords import hash_password
from server.services.validation import LinkInput, validate_link_fields
from server.state import Kliqs

router = APIRouter()

PAGE_SIZE = 20
STATS_DAYS = 30
_DATETIME_LOCAL = re.compile(r"\d{4}-\d{2}-\d{2}T\d{2}:\d{2}(:\d{2})?")
_NOTICES = {"created": "notice.link_created", "deleted": "notice.link_deleted"}


def _page(
    kliqs: Kliqs, user: DashUser, q: str | None, cursor: str | None, created: str | None
) -> tuple[list[Row[Any]], str | None, Row[Any] | None]:
    with kliqs.reader.begin() as conn:
        try:
            rows, next_cursor = links.list_links(
                conn, user.caller, q=q, limit=PAGE_SIZE, cursor=cursor
            )
        except ApiError:  # a garbled cursor: show the first page
            rows, next_cursor = links.list_links(conn, user.caller, q=q, limit=PAGE_SIZE, cursor=None)
        fresh = _own_link(conn, user, created) if created else None
    return rows, next_cursor, fresh


def _own_link(conn: Connection, user: DashUser, id_or_code: str) -> Row[Any] | None:
    try:
        return links.get_link(conn, user.caller, id_or_code)
    except ApiError:
        return None


@router.get("/links")
async def list_page(request: Request, user: CurrentUser) -> Response:
    """Search and page through the account's links, newest first."""
    return await _list(request, user)


async def _list(
    request: Request,
    user: DashUser,
    *,
    form: dict[str, str] | None = None,
    error: str | None = None,
    status: int = 200,
) -> Response:
    kliqs = dash_of(request).kliqs
    params = request.query_params
    q = (params.get("q") or "").strip() or None
    rows, next_cursor, fresh = await kliqs.run(
        _page, kliqs, user, q, params.get("cursor"), params.get("code")
    )
    return render(
        request, "links.html", user=user, nav="links", rows=rows, q=q or "",
        next_cursor=next_cursor, paged=bool(params.get("cursor")), fresh=fresh,
        notice=_NOTICES.get(params.get("msg", "")), form=form or {}, error=error, status=status,
    )


@router.post("/links")
async def create(request: Request, user: CurrentUser, form: SessionForm) -> Response:
    """Create a link from the form (every contract field)."""
    kliqs = dash_of(request).kliqs
    values = {name: text(form, name) for name in ("url", "slug", "title", "description",
                                                  "expires_at", "tz_offset")}
    try:
        fields = _validate(kliqs, form)
        password_hash = None
        if isinstance(fields.password, str):
            password_hash = await run_in_threadpool(hash_password, fields.password)
        row = await kliqs.run(_create, kliqs, user, fields, password_hash)
    except ApiError as err:
        message = err.message(language_of(request))
        return await _list(request, user, form=values, error=message, status=err.status)
    return redirect(f"/dash/links?msg=created&code={row['code']}")


def _validate(kliqs: Kliqs, form: FormData) -> LinkInput:
    body: dict[str, Any] = {"url": text(form, "url")}
    for name in ("slug", "title", "description"):
        if text(form, name):
            body[name] = text(form, name)
    password = form.get("password")
    if isinstance(password, str) and password:
        body["password"] = password
    expires = text(form, "expires_at")
    if expires:
        body["expires_at"] = _with_offset(expires, text(form, "tz_offset"))
    return validate_link_fields(
        body, now=utcnow(), own_hosts=kliqs.own_hosts, reserved=kliqs.settings.all_reserved_slugs
    )


def _with_offset(local: str, offset_minutes: str) -> str:
    """A ``datetime-local`` value in the browser's zone (sent by dash.js), else UTC."""
    if not _DATETIME_LOCAL.fullmatch(local):
        return local  # not the input's format: let the contract's check answer
    try:
        minutes = int(offset_minutes)
    except ValueError:
        return local
    if not -14 * 60 <= minutes <= 14 * 60:
        return local
    sign = "+" if minutes >= 0 else "-"
    hours, rest = divmod(abs(minutes), 60)
    return f"{local}{sign}{hours:02d}:{rest:02d}"


def _create(kliqs: Kliqs, user: DashUser, fields: LinkInput, password_hash: str | None) -> dict[str, Any]:
    with kliqs.engine.begin() as conn:
        return links.create_link(conn, user.caller, fields, password_hash=password_hash, now=utcnow())


@router.get("/links/{link_id}")
async def detail(request: Request, user: CurrentUser, link_id: str) -> Response:
    """One link: QR code, clicks per day, top referrers, devices and countries."""
    kliqs = dash_of(request).kliqs
    found = await kliqs.run(_read, kliqs, user, link_id)
    if found is None:
        return not_found(request, user)
    row, stats = found
    lang = language_of(request)
    chart = bar_chart(
        stats["per_day"],
        label=translate(lang, "stats.per_day", days=STATS_DAYS),
        day_label=translate(lang, "stats.day_label"),
    )
    return render(request, "link.html", user=user, nav="links", link=row, stats=stats, chart=chart)


def _read(kliqs: Kliqs, user: DashUser, link_id: str) -> tuple[Row[Any], dict[str, Any]] | None:
    with kliqs.reader.begin() as conn:
        row = _own_link(conn, user, link_id)
        if row is None:
            return None
        return row, link_stats(conn, str(row.id), days=STATS_DAYS, now=utcnow())


@router.get("/links/{link_id}/delete")
async def confirm_delete(request: Request, user: CurrentUser, link_id: str) -> Response:
    """Ask before deleting: the code is never reissued, so this cannot be undone."""
    kliqs = dash_of(request).kliqs
    row = await kliqs.run(_get, kliqs, user, link_id)
    if row is None:
        return not_found(request, user)
    return render(request, "confirm_delete.html", user=user, nav="links", link=row)


def _get(kliqs: Kliqs, user: DashUser, link_id: str) -> Row[Any] | None:
    with kliqs.reader.begin() as conn:
        return _own_link(conn, user, link_id)


@router.post("/links/{link_id}/delete")
async def delete(request: Request, user: CurrentUser, form: SessionForm, link_id: str) -> Response:
    """Delete one of the account's links (frees a plan slot)."""
    kliqs = dash_of(request).kliqs
    code = await kliqs.run(_delete, kliqs, user, link_id)
    if code is None:
        return not_found(request, user)
    hook = kliqs.extras.get("on_link_changed")  # the redirect cache, when the public side runs
    if hook is not None:
        hook(code)
    return redirect("/dash/links?msg=deleted")


def _delete(kliqs: Kliqs, user: DashUser, link_id: str) -> str | None:
    with kliqs.engine.begin() as conn:
        row = _own_link(conn, user, link_id)
        if row is None:
            return None
        links.delete_link(conn, user.caller, str(row.id), now=utcnow())
        return str(row.code)


