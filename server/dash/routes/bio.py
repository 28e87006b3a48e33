"""``/dash/bio``: the Bio Page editor (handle, name, text, ordered links, live preview).

Validation and saving are the public side's (``server.public.bio``), the same as
``PUT /api/v1/bio``; the dashboard only turns the form into that body.
"""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter
from starlette.datastructures import FormData
from starlette.requests import Request
from starlette.responses import Response

from server.api.errors import ApiError, ErrorCode
from server.clock import utcnow
from server.dash.i18n import language_of, translate
from server.dash.sessions import DashUser
from server.dash.web import CurrentUser, SessionForm, dash_of, redirect, render, text
from server.public import bio
from server.state import Kliqs

router = APIRouter()

LIMITS = {"name": bio.MAX_NAME, "text": bio.MAX_TEXT, "title": bio.MAX_LINK_TITLE,
          "links": bio.MAX_LINKS}
BLANK_ROWS = 2
_HANDLE_ERRORS = {
    ErrorCode.SLUG_ALREADY_EXISTS: "bio.handle_taken",
    ErrorCode.INVALID_SLUG: "bio.handle_invalid",
    ErrorCode.RESERVED_SLUG: "bio.handle_reserved",
}
_EMPTY = {"handle": "", "display_name": "", "text": "", "links": []}


def _read(kliqs: Kliqs, user: DashUser) -> dict[str, Any]:
    with kliqs.reader.begin() as conn:
        row = bio.get_bio(conn, user.account_id)
    return dict(_EMPTY) if row is None else bio.bio_json(row, kliqs.settings.public_base_url)


def _page(request: Request, user: DashUser, page: dict[str, Any], *, saved: bool,
          error: str | None = None, status: int = 200) -> Response:
    return render(
        request, "bio.html", user=user, nav="bio", page=page, saved=saved, limits=LIMITS,
        blank_rows=BLANK_ROWS if len(page["links"]) < bio.MAX_LINKS else 0, error=error,
        status=status, notice="notice.bio_saved" if request.query_params.get("msg") == "saved"
        else None,
    )


@router.get("/bio")
async def editor(request: Request, user: CurrentUser) -> Response:
    """The editor, filled with the saved page."""
    kliqs = dash_of(request).kliqs
    page = await kliqs.run(_read, kliqs, user)
    return _page(request, user, page, saved=bool(page["handle"]))


@router.post("/bio")
async def save(request: Request, user: CurrentUser, form: SessionForm) -> Response:
    """Validate and save the whole page, then show it again."""
    kliqs = dash_of(request).kliqs
    body = _body(form)
    try:
        page = bio.validate_bio(body, reserved=kliqs.settings.all_reserved_slugs)
        handles = await kliqs.run(_save, kliqs, user, page)
    except ApiError as err:
        lang = language_of(request)
        key = _HANDLE_ERRORS.get(err.code)
        message = translate(lang, key) if key else err.message(lang)
        return _page(request, user, body, saved=False, error=message, status=err.status)
    changed = kliqs.extras.get("on_link_changed")
    if changed is not None:  # the public side's cached copies of the old and new handle
        for handle in handles:
            changed(handle)
    return redirect("/dash/bio?msg=saved")


def _body(form: FormData) -> dict[str, Any]:
    """The form as a ``PUT /api/v1/bio`` body; rows left wholly empty are dropped."""
    titles = [v.strip() if isinstance(v, str) else "" for v in form.getlist("link_title")]
    urls = [v.strip() if isinstance(v, str) else "" for v in form.getlist("link_url")]
    links = [{"title": t, "url": u} for t, u in zip(titles, urls, strict=False) if t or u]
    return {
        "handle": text(form, "handle"),
        "display_name": text(form, "display_name"),
        "text": str(form.get("text") or "").strip(),
        "links": links,
    }


def _save(kliqs: Kliqs, user: DashUser, page: bio.BioInput) -> set[str]:
    with kliqs.engine.begin() as conn:
        saved, before = bio.save_bio(conn, user.account_id, page, now=utcnow())
    return {saved["handle"], before} - {None}
