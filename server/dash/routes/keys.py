"""Settings → API Keys: create (shown once), list, revoke with a confirmation, and the Self-Test."""

from __future__ import annotations

from fastapi import APIRouter
from starlette.requests import Request
from starlette.responses import Response

from server.dash.i18n import language_of
from server.dash.selftest import SelfTest, run_self_test
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
from server.services.accounts import AccountError, KeyInfo, create_key, list_keys, revoke_key
from server.state import Kliqs

router = APIRouter(prefix="/settings/api-keys")

_NOTICES = {"revoked": "notice.key_revoked"}


def _keys(kliqs: Kliqs, user: DashUser) -> list[KeyInfo]:
    with kliqs.reader.begin() as conn:
        return list_keys(conn, user.account_id)


async def _page(
    request: Request,
    user: DashUser,
    *,
    status: int = 200,
    new_key: str | None = None,
    error: str | None = None,
    selftest: SelfTest | None = None,
) -> Response:
    kliqs = dash_of(request).kliqs
    keys = await kliqs.run(_keys, kliqs, user)
    return render(
        request, "keys.html", user=user, nav="settings", keys=keys, new_key=new_key,
        error=error, selftest=selftest, status=status,
        notice=_NOTICES.get(request.query_params.get("msg", "")),
    )


@router.get("")
async def keys_page(request: Request, user: CurrentUser) -> Response:
    """The account's keys and the Self-Test form."""
    return await _page(request, user)


@router.post("")
async def create(request: Request, user: CurrentUser, form: SessionForm) -> Response:
    """Create a named key and show it in full, this once (the response is not cached)."""
    kliqs = dash_of(request).kliqs
    try:
        key = await kliqs.run(_create, kliqs, user, text(form, "name"))
    except AccountError:
        return await _page(request, user, status=400, error="error.key_name")
    return await _page(request, user, status=201, new_key=key)


def _create(kliqs: Kliqs, user: DashUser, name: str) -> str:
    with kliqs.engine.begin() as conn:
        return create_key(conn, user.account_id, name)[1]


@router.post("/self-test")
async def self_test(request: Request, user: CurrentUser, form: SessionForm) -> Response:
    """Run ``GET /api/v1/me`` with the pasted key and show its answer in plain words."""
    key = form.get("key")
    result = await run_self_test(
        dash_of(request).api, key if isinstance(key, str) else "", lang=language_of(request)
    )
    return await _page(request, user, selftest=result)


@router.get("/self-test")
async def self_test_page(user: CurrentUser) -> Response:
    """The Self-Test lives on the keys page."""
    return redirect("/dash/settings/api-keys#self-test")


def _find(kliqs: Kliqs, user: DashUser, key_id: str) -> KeyInfo | None:
    return next((k for k in _keys(kliqs, user) if k.id == key_id), None)


@router.get("/{key_id}/revoke")
async def confirm_revoke(request: Request, user: CurrentUser, key_id: str) -> Response:
    """Ask before revoking: a revoked key stops working at once and for good."""
    kliqs = dash_of(request).kliqs
    key = await kliqs.run(_find, kliqs, user, key_id)
    if key is None:
        return not_found(request, user)
    return render(request, "confirm_revoke.html", user=user, nav="settings", key=key)


@router.post("/{key_id}/revoke")
async def revoke(request: Request, user: CurrentUser, form: SessionForm, key_id: str) -> Response:
    """Revoke one of the account's own keys."""
    kliqs = dash_of(request).kliqs
    found = await kliqs.run(_revoke, kliqs, user, key_id)
    if not found:
        return not_found(request, user)
    return redirect("/dash/settings/api-keys?msg=revoked")


def _revoke(kliqs: Kliqs, user: DashUser, key_id: str) -> bool:
    """True when the key is the account's (revoked now or already)."""
    with kliqs.engine.begin() as conn:
        if revoke_key(conn, key_id, account_id=user.account_id):
            return True
        return any(k.id == key_id for k in list_keys(conn, user.account_id))

