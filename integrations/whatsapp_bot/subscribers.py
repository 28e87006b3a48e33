"""Subscribers: consent, opt-outs, undeliverable numbers and the 24-hour window.

Functions taking a ``Session`` run inside the caller's transaction; the others open their own.
Consent is kept per number with its time and source (Meta's opt-in rules); an opt-out (STOP,
an operator, error 131050) and an undeliverable mark (error 131026) stop broadcasts to it.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import select
from sqlalchemy.orm import Session

from integrations.whatsapp_bot.models import Subscriber, SubscriberStatus
from kliqs_core.connector.db import Database

__all__ = [
    "WINDOW",
    "InvalidPhone",
    "SubscriberRecord",
    "active_phones",
    "get_subscriber",
    "in_window",
    "list_subscribers",
    "mark_undeliverable",
    "normalize_phone",
    "record_inbound",
    "subscribe",
    "unsubscribe",
]

#: Meta's customer service window: free-form messages only this long after the person's last one.
WINDOW = timedelta(hours=24)
# Queueing and clock skew eat into the window; a text sent just too late fails with 131047 and
# costs a template resend, so stop a few minutes early.
_WINDOW_MARGIN = timedelta(minutes=5)
_PHONE_RE = re.compile(r"^\d{8,15}$")


class InvalidPhone(ValueError):
    """Not a phone number in international format."""


@dataclass(frozen=True)
class SubscriberRecord:
    """A read-only snapshot of a subscriber row."""

    phone: str
    name: str | None
    status: str
    consent_at: datetime | None
    consent_source: str | None
    opted_out_at: datetime | None
    opt_out_source: str | None
    last_inbound_at: datetime | None

    @classmethod
    def from_row(cls, row: Subscriber) -> SubscriberRecord:
        """Snapshot an ORM row."""
        return cls(
            row.phone,
            row.name,
            row.status,
            row.consent_at,
            row.consent_source,
            row.opted_out_at,
            row.opt_out_source,
            row.last_inbound_at,
        )


def normalize_phone(raw: str) -> str:
    """Digits only, as WhatsApp ids are: ``+62 812-3456`` -> ``628123456``.

    A leading ``0`` is the Indonesian national prefix and becomes ``62``.
    """
    digits = re.sub(r"[\s\-().]", "", raw.strip()).removeprefix("+")
    if digits.startswith("00"):
        digits = digits[2:]
    elif digits.startswith("0"):
        digits = "62" + digits[1:]
    if not _PHONE_RE.match(digits):
        raise InvalidPhone(f"{raw!r} is not a phone number (international format, 8-15 digits)")
    return digits


def in_window(last_inbound_at: datetime | None, now: datetime) -> bool:
    """True while free-form text is allowed: less than 24 hours (minus a margin) since then."""
    return last_inbound_at is not None and now - last_inbound_at < WINDOW - _WINDOW_MARGIN


def get_subscriber(session: Session, phone: str) -> Subscriber | None:
    """The row of ``phone`` (digits only), if any."""
    return session.scalars(select(Subscriber).where(Subscriber.phone == phone)).one_or_none()


def _get_or_create(session: Session, phone: str, now: datetime) -> Subscriber:
    row = get_subscriber(session, phone)
    if row is None:
        row = Subscriber(
            phone=phone, status=SubscriberStatus.CONTACT.value, created_at=now, updated_at=now
        )
        session.add(row)
        session.flush()
    return row


def record_inbound(
    session: Session, phone: str, *, at: datetime, now: datetime, name: str | None = None
) -> Subscriber:
    """Note a message from ``phone`` sent at ``at``: it (re)opens the 24-hour window.

    A number marked undeliverable evidently works again, so its subscription resumes.
    """
    row = _get_or_create(session, phone, now)
    if row.last_inbound_at is None or at > row.last_inbound_at:
        row.last_inbound_at = at
    if name:
        row.name = name
    if row.status == SubscriberStatus.UNDELIVERABLE:
        row.status, row.undeliverable_at = SubscriberStatus.ACTIVE.value, None
    row.updated_at = now
    return row


def subscribe(
    session: Session,
    phone: str,
    *,
    source: str,
    now: datetime,
    at: datetime | None = None,
    name: str | None = None,
) -> Subscriber:
    """Make ``phone`` an active subscriber with consent given at ``at`` (default ``now``).

    Consent already given is kept as it was; a DAFTAR older than the latest opt-out (Meta
    delivers out of order) changes nothing.
    """
    at = at or now
    row = _get_or_create(session, phone, now)
    if row.opted_out_at is not None and at < row.opted_out_at:
        return row
    if row.status != SubscriberStatus.ACTIVE:
        row.status = SubscriberStatus.ACTIVE.value
        row.consent_at, row.consent_source = at, source
        row.opted_out_at = row.opt_out_source = row.undeliverable_at = None
    if name and not row.name:
        row.name = name
    row.updated_at = now
    return row


def unsubscribe(
    session: Session, phone: str, *, source: str, now: datetime, at: datetime | None = None
) -> Subscriber:
    """Record an opt-out of ``phone`` from ``source`` (``whatsapp``, ``operator``, ``131050``).

    A STOP older than the latest consent (delivered late, out of order) changes nothing.
    """
    at = at or now
    row = _get_or_create(session, phone, now)
    if row.consent_at is not None and at < row.consent_at:
        return row
    if row.status != SubscriberStatus.UNSUBSCRIBED:
        row.status = SubscriberStatus.UNSUBSCRIBED.value
        row.opted_out_at, row.opt_out_source = at, source
    row.updated_at = now
    return row


def mark_undeliverable(session: Session, phone: str, *, now: datetime) -> None:
    """Stop broadcasting to an active number Meta cannot deliver to (131026)."""
    row = get_subscriber(session, phone)
    if row is not None and row.status == SubscriberStatus.ACTIVE:
        row.status, row.undeliverable_at, row.updated_at = (
            SubscriberStatus.UNDELIVERABLE.value,
            now,
            now,
        )


def active_phones(session: Session) -> list[str]:
    """Every active subscriber's number."""
    query = select(Subscriber.phone).where(Subscriber.status == SubscriberStatus.ACTIVE.value)
    return list(session.scalars(query.order_by(Subscriber.id)))


def list_subscribers(database: Database, *, status: str | None = None) -> list[SubscriberRecord]:
    """Every known number (of one ``status`` if given), oldest first."""
    query = select(Subscriber).order_by(Subscriber.id)
    if status:
        query = query.where(Subscriber.status == status)
    with database.transaction() as session:
        return [SubscriberRecord.from_row(row) for row in session.scalars(query)]
