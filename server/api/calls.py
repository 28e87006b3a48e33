"""One authenticated API call: auth, count, burst limit and work in ONE transaction.

The order of checks is the contract's: 401s, then ``API_LIMIT_REACHED``, then
``RATE_LIMITED``, then whatever the work raises (validation, limits, conflicts). Any error
rolls the transaction back, so a failed request is never counted.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime
from typing import Generic, TypeVar

from sqlalchemy import Connection

from server.api.errors import ApiError, ErrorCode
from server.clock import utcnow
from server.services.auth import Caller, authenticate
from server.services.usage import UsageState, count_request, read_usage
from server.state import Kliqs

T = TypeVar("T")
Work = Callable[[Connection, Caller, datetime], T]


@dataclass(frozen=True)
class Done(Generic[T]):
    """What a call produced, with the usage to report in the headers."""

    value: T
    caller: Caller
    usage: UsageState
    replayed: bool = False


def run_call(
    kliqs: Kliqs,
    authorization: str | None,
    work: Work[T],
    *,
    count: bool = True,
    replay: Work[T | None] | None = None,
) -> Done[T]:
    """Authenticate and run ``work``; ``replay`` may answer first without counting."""
    now = utcnow()
    usage: UsageState | None = None
    try:
        with kliqs.transaction() as conn:
            caller = authenticate(conn, authorization, now=now)
            if replay is not None:
                stored = replay(conn, caller, now)
                if stored is not None:
                    return Done(stored, caller, read_usage(conn, caller, now=now), replayed=True)
            usage = (count_request if count else read_usage)(conn, caller, now=now)
            if not kliqs.burst.allow(caller.key_id):
                raise ApiError(ErrorCode.RATE_LIMITED, headers={"Retry-After": "1"})
            value = work(conn, caller, now)
    except ApiError as err:
        if usage is not None:
            rolled_back = usage.uncounted() if count else usage
            err.headers = {**rolled_back.headers(), **err.headers}
        raise
    return Done(value, caller, usage)
