"""The connector's tables: the webhook inbox and one row per shop product.

Durability lives here, not in the broker: a webhook is a row before its 200, and a product's
state says which step comes next, so any worker can pick a product up where another left it.
"""

from __future__ import annotations

from datetime import UTC, datetime
from enum import StrEnum
from typing import Any

from sqlalchemy import (
    JSON,
    DateTime,
    Dialect,
    ForeignKey,
    Index,
    Integer,
    LargeBinary,
    MetaData,
    String,
    Text,
    TypeDecorator,
    UniqueConstraint,
)
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column

__all__ = [
    "FINISHED_STATES",
    "UNFINISHED_STATES",
    "Base",
    "InboxStatus",
    "Product",
    "ProductState",
    "UTCDateTime",
    "WebhookDelivery",
    "utcnow",
]


def utcnow() -> datetime:
    """The current time as an aware UTC datetime."""
    return datetime.now(UTC)


class ProductState(StrEnum):
    """Where a product is in the pipeline; the first four are its steps, in order."""

    RECEIVED = "received"
    SHORTENED = "shortened"
    WRITTEN_BACK = "written_back"
    NOTIFIED = "notified"
    #: Waiting on a plan limit (API_LIMIT_REACHED until its reset, SHORTLINK_LIMIT_REACHED).
    PARKED = "parked"
    #: Stopped with an error code; ``kliqs connect retry`` resumes it.
    FAILED = "failed"


UNFINISHED_STATES = (ProductState.RECEIVED, ProductState.SHORTENED, ProductState.WRITTEN_BACK)
FINISHED_STATES = (ProductState.NOTIFIED,)


class InboxStatus(StrEnum):
    """What became of a stored webhook delivery."""

    ACCEPTED = "accepted"
    REJECTED = "rejected"
    PROCESSED = "processed"
    IGNORED = "ignored"


class UTCDateTime(TypeDecorator[datetime]):
    """Aware UTC datetimes on every backend (SQLite stores them naive, in UTC)."""

    impl = DateTime(timezone=True)
    cache_ok = True

    def process_bind_param(self, value: datetime | None, dialect: Dialect) -> datetime | None:
        if value is None:
            return None
        if value.tzinfo is None:
            raise ValueError("naive datetime given; use aware UTC datetimes")
        value = value.astimezone(UTC)
        # SQLite compares the stored text, so keep one naive UTC format there.
        return value.replace(tzinfo=None) if dialect.name == "sqlite" else value

    def process_result_value(self, value: datetime | None, dialect: Dialect) -> datetime | None:
        if value is None:
            return None
        return value.replace(tzinfo=UTC) if value.tzinfo is None else value.astimezone(UTC)


class Base(DeclarativeBase):
    """Declarative base of the connector's own database."""

    metadata = MetaData(
        naming_convention={
            "ix": "ix_%(table_name)s_%(column_0_N_name)s",
            "uq": "uq_%(table_name)s_%(column_0_N_name)s",
            "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
            "pk": "pk_%(table_name)s",
        }
    )


class Product(Base):
    """One shop product, unique per (platform, shop, product_id), and its pipeline state."""

    __tablename__ = "products"
    __table_args__ = (
        UniqueConstraint("platform", "shop", "product_id"),
        Index("ix_products_state_next_sweep_at", "state", "next_sweep_at"),
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    platform: Mapped[str] = mapped_column(String(32))
    shop: Mapped[str] = mapped_column(String(255))
    product_id: Mapped[str] = mapped_column(String(255))
    title: Mapped[str] = mapped_column(Text)
    product_url: Mapped[str | None] = mapped_column(Text)
    #: Platform-specific fields the later steps need (handle, channel slugs...), JSON.
    data: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)
    state: Mapped[str] = mapped_column(String(16), default=ProductState.RECEIVED.value)
    short_url: Mapped[str | None] = mapped_column(Text)
    link_id: Mapped[str | None] = mapped_column(String(64))
    short_code: Mapped[str | None] = mapped_column(String(64))
    slug_attempt: Mapped[int] = mapped_column(Integer, default=0)
    #: The create-link request of the current slug attempt, frozen so a retry sends the same
    #: body with the same Idempotency-Key (the API replays instead of creating a second link).
    shorten_request: Mapped[dict[str, Any] | None] = mapped_column(JSON)
    attempts: Mapped[int] = mapped_column(Integer, default=0)
    last_error_code: Mapped[str | None] = mapped_column(String(64))
    last_error_message: Mapped[str | None] = mapped_column(Text)
    parked_until: Mapped[datetime | None] = mapped_column(UTCDateTime)
    claimed_by: Mapped[str | None] = mapped_column(String(128))
    claim_until: Mapped[datetime | None] = mapped_column(UTCDateTime)
    next_sweep_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    sweep_count: Mapped[int] = mapped_column(Integer, default=0)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    shortened_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    written_back_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    notified_at: Mapped[datetime | None] = mapped_column(UTCDateTime)


class WebhookDelivery(Base):
    """One received webhook delivery, stored before the connector answers 200."""

    __tablename__ = "webhook_inbox"
    __table_args__ = (UniqueConstraint("platform", "shop", "delivery_id"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    platform: Mapped[str] = mapped_column(String(32))
    shop: Mapped[str] = mapped_column(String(255))
    #: The platform's delivery/event id; ``None`` where it has none (de-duplicated per product).
    delivery_id: Mapped[str | None] = mapped_column(String(255))
    topic: Mapped[str] = mapped_column(String(128))
    received_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    body: Mapped[bytes] = mapped_column(LargeBinary)
    status: Mapped[str] = mapped_column(String(16))
    reason: Mapped[str | None] = mapped_column(String(255))
    product_pk: Mapped[int | None] = mapped_column(ForeignKey("products.id"), index=True)
