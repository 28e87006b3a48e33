"""``GET /api/v1/me``: who the key belongs to and the account's usage (never counted)."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from fastapi import APIRouter
from sqlalchemy import Connection, select
from starlette.requests import Request
from starlette.responses import Response

from server.api import openapi_doc as doc
from server.api.calls import run_call
from server.api.http import success
from server.api.schemas import MeOut, envelope
from server.clock import iso
from server.db.models import Account
from server.services.auth import Caller
from server.services.usage import read_usage

router = APIRouter(tags=["account"])


@router.get(
    "/me",
    operation_id="getMe",
    summary="Account, plan, key and usage",
    responses={200: {"model": envelope(MeOut)}, **doc.errors()},
)
async def me(request: Request) -> Response:
    """The API Self-Test's answer; this request is never counted."""
    kliqs = request.app.state.kliqs

    def work(conn: Connection, caller: Caller, now: datetime) -> dict[str, Any]:
        usage = read_usage(conn, caller, now=now)
        links_used = conn.execute(
            select(Account.links_count).where(Account.id == caller.account_id)
        ).scalar_one()
        return {
            "account": {"id": caller.account_id, "email": caller.email},
            "plan": caller.plan.name,
            "key": {"id": caller.key_id, "name": caller.key_name, "last4": caller.key_last4},
            "usage": {
                "requests_used": usage.used,
                "requests_limit": usage.limit,
                "links_used": links_used,
                "links_limit": caller.plan.max_links,
                "resets_at": iso(usage.resets_at),
            },
        }

    done = await kliqs.run(
        run_call, kliqs, request.headers.get("authorization"), work, count=False
    )
    return success(done.value, headers=done.usage.headers())
