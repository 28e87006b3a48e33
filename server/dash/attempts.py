"""Log-in (and sign-up) rate limiting per email and per client IP.

A try is recorded *before* the password is checked and counted together with the tries
already in the window, in one transaction: racing requests each see at least their own
row, so the limit holds under concurrency. A successful log-in removes its own row, so
only failures (and refused tries) use up the allowance.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import Connection, delete, func, insert, select, text

from server.dash.models import LoginAttempt


@dataclass(frozen=True)
class AttemptLimit:
    """At most ``max_attempts`` per email and per IP within ``window``."""

    max_attempts: int
    window: timedelta


@dataclass(frozen=True)
class Attempt:
    """A recorded try and whether it is within the limit."""

    id: int
    allowed: bool


def _digest(value: str) -> str:
    return hashlib.sha256(value.encode()).hexdigest()


def record_attempt(
    conn: Connection, kind: str, email: str, ip: str, *, limit: AttemptLimit, now: datetime
) -> Attempt:
    """Record one try of ``kind`` and say whether it may go on."""
    since = now - limit.window
    email_hash, ip_hash = _digest(email.strip().lower()), _digest(ip)
    _serialise(conn, email_hash, ip_hash)
    _prune(conn, since)
    attempt_id = conn.execute(
        insert(LoginAttempt)
        .values(kind=kind, email_hash=email_hash, ip_hash=ip_hash, ts=now)
        .returning(LoginAttempt.id)
    ).scalar_one()
    recent = select(func.count()).where(LoginAttempt.kind == kind, LoginAttempt.ts >= since)
    by_email = conn.execute(recent.where(LoginAttempt.email_hash == email_hash)).scalar_one()
    by_ip = conn.execute(recent.where(LoginAttempt.ip_hash == ip_hash)).scalar_one()
    allowed = max(by_email, by_ip) <= limit.max_attempts
    return Attempt(id=attempt_id, allowed=allowed)


def forget_attempt(conn: Connection, attempt_id: int) -> None:
    """Drop a try that succeeded, so good log-ins never lock anyone out."""
    conn.execute(delete(LoginAttempt).where(LoginAttempt.id == attempt_id))


def _serialise(conn: Connection, *keys: str) -> None:
    """On PostgreSQL, make tries on the same email or IP take turns (SQLite's writer
    transactions already do), so two racing tries cannot both see the old count."""
    if conn.dialect.name != "postgresql":
        return
    for key in sorted(set(keys)):  # one order everywhere: no deadlock between two tries
        conn.execute(text("SELECT pg_advisory_xact_lock(:k)"), {"k": int(key[:15], 16)})


def _prune(conn: Connection, since: datetime) -> None:
    # SKIP LOCKED: a try never waits for another one's clean-up (PostgreSQL; SQLite ignores it).
    stale = (
        select(LoginAttempt.id)
        .where(LoginAttempt.ts < since)
        .limit(500)
        .with_for_update(skip_locked=True)
    )
    conn.execute(delete(LoginAttempt).where(LoginAttempt.id.in_(stale.scalar_subquery())))
