"""Catch up active products that have no short URL yet (a webhook lost, or the app newly installed).

Each active product without metafield ``kliqs.short_url`` goes into the connector's inbox as a
``sync`` delivery, exactly as its webhook would have: the runtime de-duplicates per product,
so a product the connector already holds is left alone, and the worker does the rest. The
storefront URL read here is stored with it, which saves the worker one Admin API call.
"""

from __future__ import annotations

import json
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass, field

from kliqs_core.connector import Accepted, ProductInput, accept_webhook

from .api import SYNC_PAGE_SIZE, ShopifyAdmin, ShortlinkTarget
from .platform import PLATFORM

__all__ = ["SYNC_TOPIC", "SyncItem", "SyncReport", "sync_products"]

SYNC_TOPIC = "sync"

#: What became of one scanned product, as :class:`SyncItem.outcome`.
OUTCOMES = {
    "has_short_url": "already carries kliqs.short_url",
    "missing": "has no short URL (dry run: nothing stored)",
    "queued": "queued for shortening",
    "stored": "stored; the sweeper queues it (the broker was unreachable)",
    "pending": "already waiting in the connector",
    "known": "already shortened by the connector",
    "stopped": "parked or failed in the connector (see kliqs connect status)",
}


@dataclass(frozen=True)
class SyncItem:
    """One scanned product and what the sync did with it (a key of :data:`OUTCOMES`)."""

    target: ShortlinkTarget
    outcome: str


@dataclass
class SyncReport:
    """How many products were scanned, by outcome."""

    counts: Counter[str] = field(default_factory=Counter)

    @property
    def scanned(self) -> int:
        """Products looked at."""
        return sum(self.counts.values())

    def add(self, item: SyncItem) -> None:
        """Count one scanned product."""
        self.counts[item.outcome] += 1


def sync_products(
    admin: ShopifyAdmin,
    *,
    shop: str,
    dry_run: bool = False,
    page_size: int = SYNC_PAGE_SIZE,
    on_item: Callable[[SyncItem], object] | None = None,
) -> SyncReport:
    """Store every active product without a short URL for the worker; report per outcome."""
    report = SyncReport()
    for target in admin.iter_active_products(page_size=page_size):
        item = SyncItem(target, _sync_one(target, shop=shop, dry_run=dry_run))
        report.add(item)
        if on_item is not None:
            on_item(item)
    return report


def _sync_one(target: ShortlinkTarget, *, shop: str, dry_run: bool) -> str:
    if target.short_url:
        return "has_short_url"
    if dry_run:
        return "missing"
    body = {"id": target.gid, "title": target.title, "handle": target.handle, "url": target.url}
    accepted = accept_webhook(
        platform=PLATFORM,
        shop=shop,
        delivery_id=None,
        topic=SYNC_TOPIC,
        body=json.dumps(body).encode("utf-8"),
        product=ProductInput(
            product_id=target.gid.rsplit("/", 1)[-1],  # the webhook's numeric id
            title=target.title,
            product_url=target.url,
            data={"gid": target.gid, "handle": target.handle},
        ),
    )
    return _outcome(accepted)


def _outcome(accepted: Accepted) -> str:
    if accepted.reason is None:
        return "queued" if accepted.queued else "stored"
    if accepted.reason == "pending":
        return "pending"
    if accepted.reason in ("in_progress", "already_done"):
        return "known"
    return "stopped"
