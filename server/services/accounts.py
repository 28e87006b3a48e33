"""Accounts and their API keys (used by the CLI and the dashboard)."""

from __future__ import annotations

import re
import uuid
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import Connection, insert, select, update
from sqlalchemy.exc import IntegrityError

from server.clock import utcnow
from server.db.models import Account, ApiKey
from server.services.keys import generate_key, hash_key
from server.services.passwords import hash_password
from server.services.plans import PLANS

_EMAIL_RE = re.compile(r"[^@\s]+@[^@\s]+\.[^@\s]+")


class AccountError(ValueError):
    """A refused account or key operation, with a message for people."""


@dataclass(frozen=True)
class KeyInfo:
    """An API key as lists show it: never the key itself."""

    id: str
    name: str
    last4: str
    created_at: datetime
    last_used_at: datetime | None
    revoked_at: datetime | None

    @property
    def status(self) -> str:
        """``active`` or ``revoked``."""
        return "revoked" if self.revoked_at else "active"


def normalise_email(email: str) -> str:
    """The email as stored (trimmed, lower-case), or :class:`AccountError`."""
    cleaned = email.strip().lower()
    if not _EMAIL_RE.fullmatch(cleaned) or len(cleaned) > 320:
        raise AccountError(f"not an email address: {email!r}")
    return cleaned


def create_account(
    conn: Connection, email: str, *, plan: str = "free", password: str | None = None
) -> str:
    """Create an account; returns its id."""
    if plan not in PLANS:
        raise AccountError(f"unknown plan {plan!r}; choose one of {', '.join(PLANS)}")
    if password is not None and len(password) < 8:
        raise AccountError("the password must be at least 8 characters")
    account_id = str(uuid.uuid4())
    values = {
        "id": account_id,
        "email": normalise_email(email),
        "plan": plan,
        "password_hash": hash_password(password) if password else None,
        "links_count": 0,
        "created_at": utcnow(),
    }
    try:
        with conn.begin_nested():
            conn.execute(insert(Account).values(values))
    except IntegrityError:
        raise AccountError(f"an account with email {values['email']} already exists") from None
    return account_id


def account_id_for(conn: Connection, email: str) -> str:
    """The id of the account with ``email``, or :class:`AccountError`."""
    found = conn.execute(
        select(Account.id).where(Account.email == normalise_email(email))
    ).scalar()
    if found is None:
        raise AccountError(f"no account with email {email.strip().lower()}")
    return str(found)


def set_plan(conn: Connection, email: str, plan: str) -> None:
    """Move an account to another plan (an operator action; there is no billing)."""
    if plan not in PLANS:
        raise AccountError(f"unknown plan {plan!r}; choose one of {', '.join(PLANS)}")
    account_id = account_id_for(conn, email)
    conn.execute(update(Account).where(Account.id == account_id).values(plan=plan))


def create_key(conn: Connection, account_id: str, name: str) -> tuple[str, str]:
    """A new key for the account: ``(key_id, key)``. The key is never retrievable again."""
    name = name.strip()
    if not 1 <= len(name) <= 100:
        raise AccountError("the key name must be 1-100 characters")
    key, key_id = generate_key(), str(uuid.uuid4())
    conn.execute(
        insert(ApiKey).values(
            id=key_id,
            account_id=account_id,
            name=name,
            key_hash=hash_key(key),
            last4=key[-4:],
            created_at=utcnow(),
        )
    )
    return key_id, key


def list_keys(conn: Connection, account_id: str) -> list[KeyInfo]:
    """The account's keys, newest first."""
    rows = conn.execute(
        select(
            ApiKey.id, ApiKey.name, ApiKey.last4, ApiKey.created_at,
            ApiKey.last_used_at, ApiKey.revoked_at,
        )
        .where(ApiKey.account_id == account_id)
        .order_by(ApiKey.created_at.desc())
    ).all()
    return [KeyInfo(*row) for row in rows]


def revoke_key(conn: Connection, key_id: str, *, account_id: str | None = None) -> bool:
    """Revoke a key (only the account's own when ``account_id`` is given); False if none."""
    stmt = update(ApiKey).where(ApiKey.id == key_id, ApiKey.revoked_at.is_(None))
    if account_id is not None:
        stmt = stmt.where(ApiKey.account_id == account_id)
    return conn.execute(stmt.values(revoked_at=utcnow())).rowcount == 1
