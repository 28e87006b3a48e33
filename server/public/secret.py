"""The server's secret for the public side: cookie signatures and the visitor-hash salt."""

from __future__ import annotations

import hashlib
import hmac
import secrets

from sqlalchemy import Engine, insert, select
from sqlalchemy.exc import IntegrityError

from server.db.models import ServerSecret

_NAME = "public"


def load_secret(engine: Engine, configured: str) -> bytes:
    """``KLIQS_SECRET_KEY`` when set; else one random secret kept in the database.

    Keeping it in the database (first writer wins) gives every worker, and every machine on
    the same PostgreSQL, the same secret, so a cookie signed by one worker opens on another.
    """
    if configured:
        return configured.encode()
    try:
        return _read_or_create(engine)
    except IntegrityError:  # another worker created it between our read and insert
        return _read_or_create(engine)


def _read_or_create(engine: Engine) -> bytes:
    with engine.begin() as conn:
        found = conn.execute(select(ServerSecret.value).where(ServerSecret.name == _NAME)).scalar()
        if found is None:
            found = secrets.token_hex(32)
            conn.execute(insert(ServerSecret).values(name=_NAME, value=found))
    return str(found).encode()


def derive(secret: bytes, purpose: str) -> bytes:
    """A key for one ``purpose`` (so cookies and hashes never share a key)."""
    return hmac.new(secret, purpose.encode(), hashlib.sha256).digest()
