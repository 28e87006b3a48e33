"""The bot's tables, in the connector's database (on its ``Base``, migrated by its Alembic chain).

- ``wa_subscribers``: one row per person who wrote to the bot or was added by an operator, with
  consent (time, source), opt-out, undeliverable marks and the last inbound time (the 24-hour
  customer service window).
- ``wa_inbound_messages``: inbound messages, unique per wamid (Meta delivers duplicates).
- ``wa_message_statuses``: delivery statuses, unique per (wamid, status), kept as they came.
- ``wa_deliveries``: one row per (product, recipient), claimed before sending, holding the wamid
  and the furthest status reached.

Durability lives in these rows, not in the broker: every task takes a row id, and the bot's
sweeper re-queues rows whose task was lost.
"""

from __future__ import annotations

from datetime import datetime
from enum import StrEnum

from sqlalchemy import (
    Boolean,
    ForeignKey,
    Index,
    Integer,
    String,
    Text,
    UniqueConstraint,
)
from sqlalchemy.orm import Mapped, mapped_column

from kliqs_core.connector.models import Base, UTCDateTime, utcnow

__all__ = [
    "Delivery",
    "DeliveryState",
    "InboundRecord",
    "InboundState",
    "StatusRecord",
    "Subscriber",
    "SubscriberStatus",
]


class SubscriberStatus(StrEnum):
    """Whether a person gets product broadcasts."""

    #: Wrote to the bot (or was known otherwise) but never subscribed.
    CONTACT = "contact"
    ACTIVE = "active"
    #: Sent STOP, was removed by an operator, or Meta answered 131050.
    UNSUBSCRIBED = "unsubscribed"
    #: Meta answered 131026 (not on WhatsApp, old client, terms not accepted).
    UNDELIVERABLE = "undeliverable"


class DeliveryState(StrEnum):
    """Where one (product, recipient) message is on our side."""

    PENDING = "pending"
    #: Claimed by a send; if the claim ran out, the send's outcome is unknown (see broadcast.py).
    SENDING = "sending"
    #: Accepted by the Graph API (``wamid`` set); ``status`` follows Meta's webhooks.
    SENT = "sent"
    FAILED = "failed"
    #: Not sent because the recipient stopped being an active subscriber.
    SKIPPED = "skipped"


class InboundState(StrEnum):
    """Whether an inbound message was acted on."""

    RECEIVED = "received"
    HANDLED = "handled"


class Subscriber(Base):
    """A person (WhatsApp id, digits only) and their consent."""

    __tablename__ = "wa_subscribers"
    __table_args__ = (UniqueConstraint("phone"), Index("ix_wa_subscribers_status", "status"))

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    phone: Mapped[str] = mapped_column(String(32))
    name: Mapped[str | None] = mapped_column(String(255))
    status: Mapped[str] = mapped_column(String(16), default=SubscriberStatus.CONTACT.value)
    consent_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    #: ``whatsapp`` (sent DAFTAR/JOIN) or what the operator gave (``web``, ``paper``...).
    consent_source: Mapped[str | None] = mapped_column(String(64))
    opted_out_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    #: ``whatsapp`` (STOP), ``operator`` or ``131050``.
    opt_out_source: Mapped[str | None] = mapped_column(String(64))
    undeliverable_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    #: Meta's timestamp of the person's latest message: the 24-hour window starts here.
    last_inbound_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)


class InboundRecord(Base):
    """An inbound message as received, de-duplicated by wamid."""

    __tablename__ = "wa_inbound_messages"
    __table_args__ = (
        UniqueConstraint("wamid"),
        Index("ix_wa_inbound_messages_state_next_sweep_at", "state", "next_sweep_at"),
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    wamid: Mapped[str] = mapped_column(String(255))
    sender: Mapped[str] = mapped_column(String(32))
    contact_name: Mapped[str | None] = mapped_column(String(255))
    type: Mapped[str] = mapped_column(String(32))
    text: Mapped[str | None] = mapped_column(Text)
    payload: Mapped[str | None] = mapped_column(Text)
    sent_at: Mapped[datetime] = mapped_column(UTCDateTime)
    received_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    state: Mapped[str] = mapped_column(String(16), default=InboundState.RECEIVED.value)
    command: Mapped[str | None] = mapped_column(String(16))
    claim_until: Mapped[datetime | None] = mapped_column(UTCDateTime)
    next_sweep_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    reply_wamid: Mapped[str | None] = mapped_column(String(255))
    handled_at: Mapped[datetime | None] = mapped_column(UTCDateTime)


class StatusRecord(Base):
    """One delivery status webhook entry, de-duplicated by (wamid, status)."""

    __tablename__ = "wa_message_statuses"
    __table_args__ = (
        UniqueConstraint("wamid", "status"),
        Index("ix_wa_message_statuses_callback_data", "callback_data"),
        Index("ix_wa_message_statuses_processed_at", "processed_at"),
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    wamid: Mapped[str] = mapped_column(String(255))
    status: Mapped[str] = mapped_column(String(16))
    recipient: Mapped[str | None] = mapped_column(String(32))
    error_code: Mapped[int | None] = mapped_column(Integer)
    error_title: Mapped[str | None] = mapped_column(Text)
    #: Our ``biz_opaque_callback_data`` echoed back: ties a status to a send whose answer was lost.
    callback_data: Mapped[str | None] = mapped_column(String(512))
    occurred_at: Mapped[datetime] = mapped_column(UTCDateTime)
    received_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    processed_at: Mapped[datetime | None] = mapped_column(UTCDateTime)


class Delivery(Base):
    """One product message to one recipient, unique per (product, recipient)."""

    __tablename__ = "wa_deliveries"
    __table_args__ = (
        UniqueConstraint("product_pk", "recipient"),
        UniqueConstraint("wamid"),
        Index("ix_wa_deliveries_state_next_sweep_at", "state", "next_sweep_at"),
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    product_pk: Mapped[int] = mapped_column(ForeignKey("products.id"))
    recipient: Mapped[str] = mapped_column(String(32))
    state: Mapped[str] = mapped_column(String(16), default=DeliveryState.PENDING.value)
    #: ``text`` (inside the 24-hour window) or ``template``, decided at send time.
    kind: Mapped[str | None] = mapped_column(String(16))
    wamid: Mapped[str | None] = mapped_column(String(255))
    #: Meta's furthest status for ``wamid``: sent < delivered < read; failed is terminal.
    status: Mapped[str | None] = mapped_column(String(16))
    status_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    error_code: Mapped[int | None] = mapped_column(Integer)
    error_message: Mapped[str | None] = mapped_column(Text)
    attempts: Mapped[int] = mapped_column(Integer, default=0)
    #: Set once a 131047 (window closed) made us send the template instead of the text.
    template_fallback: Mapped[bool] = mapped_column(Boolean, default=False)
    #: The current send attempt's id, sent as ``biz_opaque_callback_data``.
    token: Mapped[str | None] = mapped_column(String(64))
    claimed_by: Mapped[str | None] = mapped_column(String(128))
    claim_until: Mapped[datetime | None] = mapped_column(UTCDateTime)
    #: When a pending row is due; the sweeper re-queues it if still pending well after.
    next_sweep_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    sweep_count: Mapped[int] = mapped_column(Integer, default=0)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    sent_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
