"""The password gate of protected links: tries limited per visitor, CSRF token, unlock cookie.

- Tries: at most ``gate_max_failures`` wrong passwords per hashed visitor address and link in
  ``gate_window_seconds``; one more answers 429. A try is reserved in the database *before*
  the (slow) Argon2 check and kept only when wrong, so concurrent tries cannot slip past the
  limit, and every worker shares it.
- CSRF: a random nonce in a ``SameSite=Strict`` cookie plus its HMAC in the form; a post
  from another site carries neither.
- Unlock: after the right password a signed cookie (path ``/{code}``, ``unlock_cookie_ttl``)
  lets the visitor through without the form; it names a fingerprint of the password hash,
  so changing the password locks everyone out again.
"""

from __future__ import annotations

import hashlib
import hmac
import math
import secrets
from dataclasses import dataclass
from datetime import datetime, timedelta

from itsdangerous import BadSignature, TimestampSigner
from sqlalchemy import Engine, delete, insert, select

from server.config import Settings
from server.db.models import GateFailure, Link
from server.public.secret import derive
from server.public.targets import CODE, LINK_ID, PASSWORD_HASH, LinkTarget
from server.services.passwords import verify_password

UNLOCK_COOKIE = "kliqs_unlock"
CSRF_COOKIE = "kliqs_gate"


@dataclass(frozen=True)
class Outcome:
    """The result of one password try."""

    ok: bool
    retry_after: int | None = None  # set when locked out

    @property
    def locked(self) -> bool:
        return self.retry_after is not None


def _fingerprint(password_hash: str) -> str:
    return hashlib.sha256(password_hash.encode()).hexdigest()[:16]


class Gate:
    """Signs and checks the gate's cookies and runs the limited password tries."""

    def __init__(self, settings: Settings, secret: bytes) -> None:
        self._ttl = settings.unlock_cookie_ttl
        self._window = timedelta(seconds=settings.gate_window_seconds)
        self._max = settings.gate_max_failures
        self._secure = "; Secure" if settings.public_base_url.startswith("https:") else ""
        self._signer = TimestampSigner(derive(secret, "unlock-cookie"), salt="kliqs-unlock")
        self._csrf_key = derive(secret, "gate-csrf")

    def unlocked(self, target: LinkTarget, cookie: str | None) -> bool:
        """True when ``cookie`` is a fresh unlock of this link with its current password."""
        password_hash = target[PASSWORD_HASH]
        if not cookie or password_hash is None:
            return False
        try:
            payload = self._signer.unsign(cookie, max_age=self._ttl)
        except BadSignature:  # includes SignatureExpired
            return False
        expected = f"{target[CODE]}.{_fingerprint(password_hash)}".encode()
        return hmac.compare_digest(payload, expected)

    def unlock_cookie(self, target: LinkTarget) -> bytes:
        """``Set-Cookie`` value opening ``target`` for a while."""
        password_hash = target[PASSWORD_HASH]
        assert password_hash is not None
        value = self._signer.sign(f"{target[CODE]}.{_fingerprint(password_hash)}")
        return (
            f"{UNLOCK_COOKIE}={value.decode()}; Path=/{target[CODE]}; Max-Age={self._ttl}; "
            f"HttpOnly; SameSite=Lax{self._secure}"
        ).encode()

    @staticmethod
    def new_nonce() -> str:
        """A fresh CSRF nonce."""
        return secrets.token_urlsafe(18)

    def csrf_token(self, code: str, nonce: str) -> str:
        """The form's token for ``nonce`` on ``code``."""
        return hmac.new(self._csrf_key, f"{code}:{nonce}".encode(), hashlib.sha256).hexdigest()

    def csrf_ok(self, code: str, nonce: str | None, token: str | None) -> bool:
        """True when the form's token matches the visitor's nonce cookie."""
        if not nonce or not token:
            return False
        return hmac.compare_digest(self.csrf_token(code, nonce), token)

    def csrf_cookie(self, code: str, nonce: str) -> bytes:
        """``Set-Cookie`` value of the nonce (this browser, this link, this session)."""
        return (f"{CSRF_COOKIE}={nonce}; Path=/{code}; HttpOnly; SameSite=Strict"
                f"{self._secure}").encode()

    def reserve(self, engine: Engine, link_id: str, visitor: str, now: datetime
                ) -> int | Outcome:
        """Reserve one try (its row id), or the lock-out when the window is full."""
        since = now - self._window
        mine = (GateFailure.link_id == link_id, GateFailure.visitor == visitor)
        with engine.begin() as conn:
            # PostgreSQL: one try at a time per link; SQLite's BEGIN IMMEDIATE already is.
            conn.execute(select(Link.id).where(Link.id == link_id).with_for_update())
            conn.execute(delete(GateFailure).where(*mine, GateFailure.ts < since))
            stamps = conn.execute(
                select(GateFailure.ts).where(*mine).order_by(GateFailure.ts)
            ).scalars().all()
            if len(stamps) >= self._max:
                wait = (stamps[0] + self._window - now).total_seconds()
                return Outcome(False, max(1, math.ceil(wait)))
            result = conn.execute(
                insert(GateFailure).values(link_id=link_id, visitor=visitor, ts=now)
            )
            return int(result.inserted_primary_key[0])

    @staticmethod
    def release(engine: Engine, try_id: int) -> None:
        """Forget a reserved try (the password was right)."""
        with engine.begin() as conn:
            conn.execute(delete(GateFailure).where(GateFailure.id == try_id))

    def attempt(self, engine: Engine, target: LinkTarget, visitor: str, password: str,
                now: datetime) -> Outcome:
        """One whole try (blocking: database and Argon2); run it off the event loop."""
        reserved = self.reserve(engine, target[LINK_ID], visitor, now)
        if isinstance(reserved, Outcome):
            return reserved
        password_hash = target[PASSWORD_HASH]
        assert password_hash is not None
        if 0 < len(password) <= 128 and verify_password(password_hash, password):
            self.release(engine, reserved)
            return Outcome(True)
        return Outcome(False)
