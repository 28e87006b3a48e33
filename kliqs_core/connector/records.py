"""Read-only snapshots of stored rows, handed to platforms and notifiers.

Plug-ins get these instead of ORM objects so they never hold a session or write a row by
accident: the runtime alone moves a product through its states.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from kliqs_core.connector.models import Product

__all__ = ["ProductRecord"]


@dataclass(frozen=True)
class ProductRecord:
    """One product as stored by the connector (a snapshot of :class:`.models.Product`)."""

    id: int
    platform: str
    shop: str
    product_id: str
    title: str
    product_url: str | None
    state: str
    short_url: str | None = None
    link_id: str | None = None
    short_code: str | None = None
    slug_attempt: int = 0
    shorten_request: dict[str, Any] | None = None
    attempts: int = 0
    #: Times the sweeper re-queued the product since its last progress: > 0 means an earlier
    #: run may have stopped in the middle of the current step (a platform checks first).
    sweep_count: int = 0
    last_error_code: str | None = None
    last_error_message: str | None = None
    parked_until: datetime | None = None
    created_at: datetime | None = None
    updated_at: datetime | None = None
    shortened_at: datetime | None = None
    written_back_at: datetime | None = None
    notified_at: datetime | None = None
    #: Platform-specific fields stored from the webhook (handle, permalink, channels...).
    data: dict[str, Any] = field(default_factory=dict)

    @classmethod
    def from_row(cls, row: Product) -> ProductRecord:
        """Snapshot an ORM row."""
        return cls(
            id=row.id,
            platform=row.platform,
            shop=row.shop,
            product_id=row.product_id,
            title=row.title,
            product_url=row.product_url,
            state=row.state,
            short_url=row.short_url,
            link_id=row.link_id,
            short_code=row.short_code,
            slug_attempt=row.slug_attempt,
            shorten_request=dict(row.shorten_request) if row.shorten_request else None,
            attempts=row.attempts,
            sweep_count=row.sweep_count or 0,
            last_error_code=row.last_error_code,
            last_error_message=row.last_error_message,
            parked_until=row.parked_until,
            created_at=row.created_at,
            updated_at=row.updated_at,
            shortened_at=row.shortened_at,
            written_back_at=row.written_back_at,
            notified_at=row.notified_at,
            data=dict(row.data or {}),
        )
