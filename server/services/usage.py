"""Monthly request counting, exact under concurrency.

A request is counted by a conditional ``UPDATE ... WHERE requests_used < limit`` inside the
same transaction as its work: the row lock serialises racing requests, and a request that
fails afterwards rolls its count back with everything else. Nothing reads then writes.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import Connection, bindparam, select, update

from kliqs_core.hotsql import HotStatement
from server.api.errors import ApiError, ErrorCode
from server.clock import next_month_start, period_of
from server.db.models import Usage
from server.db.sql import insert_if_absent
from server.services.auth import Caller


@dataclass(frozen=True)
class UsageState:
    """Requests used and allowed this month, and when the count resets."""

    used: int
    limit: int
    resets_at: datetime

    def headers(self) -> dict[str, str]:
        """The ``X-RateLimit-*`` headers of an authenticated response."""
        return {
            "X-RateLimit-Limit": str(self.limit),
            "X-RateLimit-Remaining": str(max(self.limit - self.used, 0)),
            "X-RateLimit-Reset": str(int(self.resets_at.timestamp())),
        }

    def uncounted(self) -> UsageState:
        """The state after this request's count was rolled back."""
        return UsageState(self.used - 1, self.limit, self.resets_at)


# Built once: constructing statements per request costs more than running them on SQLite.
_BUMP = HotStatement(
    update(Usage)
    .where(
        Usage.account_id == bindparam("b_account"),
        Usage.period == bindparam("b_period"),
        Usage.requests_used < bindparam("b_limit"),
    )
    .values(requests_used=Usage.requests_used + 1)
    .returning(Usage.requests_used)
)


def _bump(conn: Connection, account_id: str, period: str, limit: int) -> int | None:
    params = {"b_account": account_id, "b_period": period, "b_limit": limit}
    return _BUMP.execute(conn, params).scalar()  # type: ignore[no-any-return]


def count_request(conn: Connection, caller: Caller, *, now: datetime) -> UsageState:
    """Count one request for the caller's account, or raise ``API_LIMIT_REACHED``."""
    period, limit = period_of(now), caller.plan.requests_per_month
    resets_at = next_month_start(now)
    used = _bump(conn, caller.account_id, period, limit)
    if used is None and _ensure_row(conn, caller.account_id, period):
        used = _bump(conn, caller.account_id, period, limit)
    if used is None:
        retry_after = max(int((resets_at - now).total_seconds()), 1)
        state = UsageState(limit, limit, resets_at)
        raise ApiError(
            ErrorCode.API_LIMIT_REACHED,
            headers={"Retry-After": str(retry_after), **state.headers()},
        )
    return UsageState(used, limit, resets_at)


def _ensure_row(conn: Connection, account_id: str, period: str) -> bool:
    """Create this month's row; True when it did not exist (so the bump is worth retrying)."""
    values = {"account_id": account_id, "period": period, "requests_used": 0}
    return insert_if_absent(conn, Usage.period, values)


def read_usage(conn: Connection, caller: Caller, *, now: datetime) -> UsageState:
    """This month's usage without counting (``GET /me``)."""
    used = conn.execute(
        select(Usage.requests_used).where(
            Usage.account_id == caller.account_id, Usage.period == period_of(now)
        )
    ).scalar()
    return UsageState(used or 0, caller.plan.requests_per_month, next_month_start(now))
