"""``Idempotency-Key``: the first successful answer to a POST is replayed for 24 hours."""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import Connection, delete, insert, select

from server.api.errors import ApiError, ErrorCode
from server.db.models import IdempotencyRecord

TTL = timedelta(hours=24)
MAX_KEY_LENGTH = 255


@dataclass(frozen=True)
class Replay:
    """A stored answer to send again."""

    status_code: int
    body: bytes


def check_key(key: str) -> str:
    """The key if it is usable (printable ASCII, at most 255 characters)."""
    if not key or len(key) > MAX_KEY_LENGTH or not key.isascii() or not key.isprintable():
        raise ApiError(
            ErrorCode.VALIDATION_ERROR,
            detail=(
                "Idempotency-Key harus 1–255 karakter ASCII.",
                "Idempotency-Key must be 1–255 ASCII characters.",
            ),
        )
    return key


def request_fingerprint(body: Any) -> str:
    """The hash that tells "the same body" apart from another: canonical JSON."""
    canonical = json.dumps(body, sort_keys=True, separators=(",", ":"), ensure_ascii=False)
    return hashlib.sha256(canonical.encode()).hexdigest()


def find_replay(
    conn: Connection, account_id: str, key: str, fingerprint: str, *, now: datetime
) -> Replay | None:
    """The stored answer for ``key``; ``IDEMPOTENCY_KEY_REUSED`` if it was for another body."""
    row = conn.execute(
        select(
            IdempotencyRecord.request_hash,
            IdempotencyRecord.status_code,
            IdempotencyRecord.response_body,
            IdempotencyRecord.created_at,
        ).where(IdempotencyRecord.account_id == account_id, IdempotencyRecord.key == key)
    ).first()
    if row is None:
        return None
    if now - row.created_at >= TTL:
        conn.execute(
            delete(IdempotencyRecord).where(
                IdempotencyRecord.account_id == account_id, IdempotencyRecord.key == key
            )
        )
        return None
    if row.request_hash != fingerprint:
        raise ApiError(ErrorCode.IDEMPOTENCY_KEY_REUSED)
    return Replay(row.status_code, bytes(row.response_body))


def remember(
    conn: Connection,
    account_id: str,
    key: str,
    fingerprint: str,
    replay: Replay,
    *,
    now: datetime,
) -> None:
    """Store the answer; a racing twin fails here with IntegrityError and replays instead."""
    conn.execute(
        insert(IdempotencyRecord).values(
            account_id=account_id,
            key=key,
            request_hash=fingerprint,
            status_code=replay.status_code,
            response_body=replay.body,
            created_at=now,
        )
    )


def purge_expired(conn: Connection, *, now: datetime) -> int:
    """Delete records older than the TTL; returns how many."""
    return conn.execute(
        delete(IdempotencyRecord).where(IdempotencyRecord.created_at < now - TTL)
    ).rowcount
