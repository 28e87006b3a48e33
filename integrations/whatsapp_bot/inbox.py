"""Store verified webhook updates before the 200, de-duplicated by the database.

Meta retries any non-200 for days and sends duplicates anyway, so every inbound message is unique
by wamid and every status by (wamid, status): ``INSERT ... ON CONFLICT DO NOTHING`` (SQLite and
PostgreSQL) stores each once, even when two copies arrive at the same moment, and returns the
ids of the rows that are new. Only those are queued.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import Column
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.orm import Session

from integrations.whatsapp_bot.models import InboundRecord, InboundState, StatusRecord
from integrations.whatsapp_bot.webhooks import InboundMessage, StatusUpdate, Update
from kliqs_core.connector.db import Database

__all__ = ["StoredUpdates", "insert_ignore", "store_updates"]


@dataclass(frozen=True)
class StoredUpdates:
    """What one notification added: new row ids, and what was left out."""

    messages: tuple[int, ...] = ()
    statuses: tuple[int, ...] = ()
    duplicates: int = 0
    #: Updates for another phone number of the same app: not ours to act on.
    foreign: int = 0


def insert_ignore(
    session: Session, model: Any, rows: Sequence[dict[str, Any]], conflict: Iterable[str]
) -> list[int]:
    """Insert ``rows`` skipping those that break the unique ``conflict`` columns; new ids."""
    if not rows:
        return []
    dialect = session.get_bind().dialect.name
    insert = postgresql.insert if dialect == "postgresql" else sqlite.insert
    id_column: Column[int] = model.__table__.c.id
    statement = (
        insert(model)
        .values(list(rows))
        .on_conflict_do_nothing(index_elements=list(conflict))
        .returning(id_column)
    )
    return [int(pk) for pk in session.execute(statement).scalars()]


def store_updates(
    database: Database,
    updates: Sequence[Update],
    *,
    phone_number_id: str,
    now: datetime,
    grace_seconds: float,
) -> StoredUpdates:
    """Store the updates addressed to ``phone_number_id`` in one transaction."""
    ours = [u for u in updates if u.phone_number_id in (None, phone_number_id)]
    messages = [_message_row(u, now, grace_seconds) for u in ours if isinstance(u, InboundMessage)]
    statuses = [_status_row(u, now) for u in ours if isinstance(u, StatusUpdate)]
    with database.transaction() as session:
        message_ids = insert_ignore(session, InboundRecord, messages, ["wamid"])
        status_ids = insert_ignore(session, StatusRecord, statuses, ["wamid", "status"])
    duplicates = len(messages) + len(statuses) - len(message_ids) - len(status_ids)
    return StoredUpdates(
        tuple(message_ids), tuple(status_ids), duplicates, len(updates) - len(ours)
    )


def _message_row(message: InboundMessage, now: datetime, grace: float) -> dict[str, Any]:
    return {
        "wamid": message.wamid,
        "sender": message.from_,
        "contact_name": message.contact_name,
        "type": message.type,
        "text": message.text,
        "payload": message.payload,
        "sent_at": message.timestamp,
        "received_at": now,
        "state": InboundState.RECEIVED.value,
        "next_sweep_at": now + timedelta(seconds=grace),
    }


def _status_row(status: StatusUpdate, now: datetime) -> dict[str, Any]:
    first = status.errors[0] if status.errors else None
    return {
        "wamid": status.wamid,
        "status": status.status,
        "recipient": status.recipient_id,
        "error_code": first.code if first else None,
        "error_title": first.title if first else None,
        "callback_data": status.callback_data,
        "occurred_at": status.timestamp,
        "received_at": now,
    }
