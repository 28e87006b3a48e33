"""``GET /api/v1/links/{id}/stats``: a link's clicks per day, referrers, devices and more."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from fastapi import APIRouter
from sqlalchemy import Connection
from starlette.requests import Request
from starlette.responses import Response

from server.api import openapi_doc as doc
from server.api.calls import run_call
from server.api.errors import ApiError, ErrorCode
from server.api.http import success
from server.api.schemas import LinkStats, envelope
from server.public.stats import MAX_DAYS, link_stats
from server.services import links
from server.services.auth import Caller

router = APIRouter(tags=["links"])


def _days(raw: str | None) -> int:
    if raw is None:
        return 30
    if not (raw.isascii() and raw.isdigit()) or not 1 <= int(raw) <= MAX_DAYS:
        raise ApiError(
            ErrorCode.VALIDATION_ERROR,
            detail=(f"days harus angka 1–{MAX_DAYS}.", f"days must be a number from 1 to {MAX_DAYS}."),
        )
    return int(raw)


@router.get(
    "/links/{link_id}/stats",
    summary="Click statistics of a link",
    description=(
        "Clicks over the last `days` UTC days (today included). `total_clicks` = "
        "`human_clicks` + `bot_clicks`; `per_day`, the top lists and `unique_visitors` "
        "count people only (bots apart). Unique visitors are distinct per day. Clicks reach "
        "the statistics within about a second (they are written in batches)."
    ),
    responses={200: {"model": envelope(LinkStats)},
               **doc.errors(ErrorCode.VALIDATION_ERROR, ErrorCode.NOT_FOUND)},
    openapi_extra={"parameters": [
        doc.query("days", {"type": "integer", "minimum": 1, "maximum": MAX_DAYS, "default": 30},
                  "how many days back, today included"),
    ]},
)
async def link_stats_route(request: Request, link_id: str) -> Response:
    """The statistics of one of the account's links (by id or code)."""
    kliqs = request.app.state.kliqs
    raw_days = request.query_params.get("days")

    def work(conn: Connection, caller: Caller, now: datetime) -> dict[str, Any]:
        days = _days(raw_days)
        row = links.get_link(conn, caller, link_id)
        return link_stats(conn, str(row.id), days=days, now=now)

    done = await kliqs.run(run_call, kliqs, request.headers.get("authorization"), work)
    return success(done.value, headers=done.usage.headers())
