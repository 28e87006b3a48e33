"""Who is calling: the ``Authorization: Bearer`` header checked against hashed keys."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import Connection, bindparam, select, update

from kliqs_core.hotsql import HotStatement
from server.api.errors import ApiError, ErrorCode
from server.db.models import Account, ApiKey
from server.services.keys import hash_key, looks_like_key
from server.services.plans import Plan, get_plan

# last_used_at is written at most this often per key, to keep reads from writing every time.
LAST_USED_RESOLUTION = timedelta(seconds=60)


@dataclass(frozen=True)
class Caller:
    """The authenticated key and its account."""

    key_id: str
    key_name: str
    key_last4: str
    account_id: str
    email: str
    plan: Plan


def bearer_token(header: str | None) -> str:
    """The key from an ``Authorization`` value; the scheme is case-insensitive.

    No header, an empty one or another scheme is ``UNAUTHORIZED``; a Bearer header whose
    token is not exactly one well-formed key (empty, inner spaces, stray newline) is
    ``INVALID_API_KEY``.
    """
    if header is None or not header.strip():
        raise ApiError(ErrorCode.UNAUTHORIZED)
    scheme, _, token = header.strip().partition(" ")
    if scheme.lower() != "bearer":
        raise ApiError(ErrorCode.UNAUTHORIZED)
    token = token.strip(" \t")
    if not looks_like_key(token):
        raise ApiError(ErrorCode.INVALID_API_KEY)
    return token


_LOOKUP = HotStatement(
    select(
        ApiKey.id,
        ApiKey.name,
        ApiKey.last4,
        ApiKey.revoked_at,
        ApiKey.last_used_at,
        Account.id,
        Account.email,
        Account.plan,
    )
    .join(Account, Account.id == ApiKey.account_id)
    .where(ApiKey.key_hash == bindparam("key_hash"))
)
_TOUCH = HotStatement(
    update(ApiKey).where(ApiKey.id == bindparam("b_key")).values(last_used_at=bindparam("b_now"))
)


def authenticate(conn: Connection, header: str | None, *, now: datetime) -> Caller:
    """The caller behind ``header``, or the contract's 401 for it."""
    token = bearer_token(header)
    row = _LOOKUP.execute(conn, {"key_hash": hash_key(token)}).first()
    if row is None:
        raise ApiError(ErrorCode.INVALID_API_KEY)
    key_id, name, last4, revoked_at, last_used_at, account_id, email, plan = row
    if revoked_at is not None:
        raise ApiError(ErrorCode.REVOKED_API_KEY)
    if last_used_at is None or now - last_used_at >= LAST_USED_RESOLUTION:
        _TOUCH.execute(conn, {"b_key": key_id, "b_now": now})
    return Caller(key_id, name, last4, account_id, email, get_plan(plan))
