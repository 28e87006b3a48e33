"""``/dash``: the plan, and usage against it (requests this month, links, reset date)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from fastapi import APIRouter
from sqlalchemy import select
from starlette.requests import Request
from starlette.responses import Response

from server.clock import utcnow
from server.dash.sessions import DashUser
from server.dash.web import CurrentUser, dash_of, redirect, render
from server.db.models import Account
from server.services.usage import read_usage
from server.state import Kliqs

router = APIRouter()

_NOTICES = {"welcome": "notice.welcome"}


@dataclass(frozen=True)
class Overview:
    """What the overview shows, read in one transaction."""

    plan: str
    requests_used: int
    requests_limit: int
    links_used: int
    links_limit: int
    resets_at: datetime

    def percent(self, used: int, limit: int) -> int:
        """Share of a limit used, 0-100."""
        return min(100, round(100 * used / limit)) if limit else 100


def read_overview(kliqs: Kliqs, user: DashUser) -> Overview:
    """The account's plan and this month's usage (read only: nothing is counted)."""
    with kliqs.reader.begin() as conn:
        usage = read_usage(conn, user.caller, now=utcnow())
        links_used = conn.execute(
            select(Account.links_count).where(Account.id == user.account_id)
        ).scalar_one()
    return Overview(
        plan=user.plan.name,
        requests_used=usage.used,
        requests_limit=usage.limit,
        links_used=links_used,
        links_limit=user.plan.max_links,
        resets_at=usage.resets_at,
    )


@router.get("")
async def overview(request: Request, user: CurrentUser) -> Response:
    """Plan and usage."""
    kliqs = dash_of(request).kliqs
    data = await kliqs.run(read_overview, kliqs, user)
    notice = _NOTICES.get(request.query_params.get("msg", ""))
    return render(request, "overview.html", user=user, nav="overview", o=data, notice=notice)


@router.get("/settings")
async def settings_home(user: CurrentUser) -> Response:
    """Settings has one page so far: API Keys."""
    return redirect("/dash/settings/api-keys")
