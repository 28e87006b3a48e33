"""Dashboard sessions: a random token in an HTTP-only cookie, only its SHA-256 in the database.

The CSRF token of a signed-in page is derived from the session token (an HMAC keyed by it),
so it is tied to the session, needs no storage and dies with the session.
"""

from __future__ import annotations

import hashlib
import hmac
import secrets
from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import Connection, delete, insert, select

from server.dash.models import DashSession
from server.db.models import Account
from server.services.auth import Caller
from server.services.plans import Plan, get_plan

_CSRF_CONTEXT = b"kliqs-dash-csrf-v1"


@dataclass(frozen=True)
class DashUser:
    """The signed-in account of a dashboard request."""

    account_id: str
    email: str
    plan: Plan
    token: str

    @property
    def caller(self) -> Caller:
        """The account as the link services expect it (no API key involved)."""
        return Caller(
            key_id="dashboard",
            key_name="dashboard",
            key_last4="",
            account_id=self.account_id,
            email=self.email,
            plan=self.plan,
        )

    @property
    def csrf(self) -> str:
        """The synchronizer token every form of this session must carry."""
        return session_csrf(self.token)


def new_token() -> str:
    """A fresh random token (256 bits), for a session or a pre-session CSRF cookie."""
    return secrets.token_urlsafe(32)


def token_hash(token: str) -> str:
    """The SHA-256 hex digest stored in place of a session token."""
    return hashlib.sha256(token.encode()).hexdigest()


def session_csrf(token: str) -> str:
    """The CSRF token of the session whose cookie holds ``token``."""
    return hmac.new(token.encode(), _CSRF_CONTEXT, hashlib.sha256).hexdigest()


def tokens_match(expected: str, given: str | None) -> bool:
    """Constant-time comparison that is False for a missing or empty token."""
    return bool(given) and bool(expected) and hmac.compare_digest(expected, given or "")


def create_session(conn: Connection, account_id: str, *, now: datetime, lifetime: timedelta) -> str:
    """Store a new session for ``account_id``; returns the token for the cookie."""
    token = new_token()
    conn.execute(
        insert(DashSession).values(
            token_hash=token_hash(token),
            account_id=account_id,
            created_at=now,
            expires_at=now + lifetime,
        )
    )
    # Expired rows are swept here, at sign-in, rather than by a separate job.
    conn.execute(delete(DashSession).where(DashSession.expires_at < now))
    return token


def find_session(conn: Connection, token: str, *, now: datetime) -> DashUser | None:
    """The user of a live session, or None for an unknown or expired token."""
    row = conn.execute(
        select(Account.id, Account.email, Account.plan)
        .join(DashSession, DashSession.account_id == Account.id)
        .where(DashSession.token_hash == token_hash(token), DashSession.expires_at > now)
    ).first()
    if row is None:
        return None
    return DashUser(account_id=row.id, email=row.email, plan=get_plan(row.plan), token=token)


def end_session(conn: Connection, token: str) -> None:
    """Forget a session (log-out): its cookie stops working everywhere at once."""
    conn.execute(delete(DashSession).where(DashSession.token_hash == token_hash(token)))
