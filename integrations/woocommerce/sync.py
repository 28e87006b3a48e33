"""Reconciliation: catch up published products whose webhook was lost.

WooCommerce never retries a failed delivery (after a few failures it even disables the
webhook), so ``kliqs woocommerce sync`` pages through the shop's published products and feeds
each one still lacking ``kliqs_short_url`` into the same pipeline as a webhook would: one
`accept_webhook` call with a synthetic delivery id per product version. A product the
connector already knows (waiting, done, parked, failed) is left alone; running the sync twice
queues nothing new.
"""

from __future__ import annotations

import json
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime

from integrations.woocommerce.api import WooCommerceClient
from integrations.woocommerce.handler import product_input, skip_reason
from integrations.woocommerce.models import WooProduct
from kliqs_core.connector import accept_webhook
from kliqs_core.connector.db import Database

__all__ = ["SYNC_TOPIC", "SyncReport", "sync_delivery_id", "sync_products"]

SYNC_TOPIC = "product.sync"


@dataclass(frozen=True)
class SyncReport:
    """What one reconciliation run found and did."""

    #: Published products listed by the shop.
    checked: int = 0
    #: Product ids handed to the pipeline by this run.
    queued: tuple[str, ...] = ()
    #: Products that already carry their short URL in the shop.
    has_short_url: int = 0
    #: Products the connector already knew, by its reason (``pending``, ``already_done``...).
    known: dict[str, int] = field(default_factory=dict)
    #: Products skipped for another reason (variation, no permalink).
    skipped: int = 0


def sync_delivery_id(product: WooProduct) -> str:
    """The synthetic delivery id of one product version: a rerun is a duplicate delivery."""
    modified = product.date_modified_gmt.isoformat() if product.date_modified_gmt else "-"
    return f"sync-{product.id}-{modified}"


def sync_products(
    client: WooCommerceClient,
    *,
    shop: str,
    since: datetime | None = None,
    platform: str = "woocommerce",
    database: Database | None = None,
    enqueue: Callable[[int], object] | None = None,
    on_total: Callable[[int], None] | None = None,
    on_product: Callable[[WooProduct], None] | None = None,
) -> SyncReport:
    """Queue every published product of the shop (modified after `since`) lacking its short URL.

    `database` and `enqueue` default to the connector runtime's. `on_total` receives the
    number of products the shop reports, `on_product` each product once handled.
    """
    checked, with_url, skipped = 0, 0, 0
    queued: list[str] = []
    known: Counter[str] = Counter()
    for product in client.iter_products(status="publish", modified_after=since, on_total=on_total):
        checked += 1
        reason = skip_reason(product)
        if reason is None:
            outcome = _feed(product, shop=shop, platform=platform, database=database,
                            enqueue=enqueue)  # fmt: skip
            if outcome is None:
                queued.append(str(product.id))
            else:
                known[outcome] += 1
        elif product.short_url is not None:
            with_url += 1
        else:
            skipped += 1
        if on_product is not None:
            on_product(product)
    return SyncReport(checked, tuple(queued), with_url, dict(known), skipped)


def _feed(
    product: WooProduct,
    *,
    shop: str,
    platform: str,
    database: Database | None,
    enqueue: Callable[[int], object] | None,
) -> str | None:
    """Store and queue one product; None when queued, else why the connector left it alone."""
    accepted = accept_webhook(
        platform=platform,
        shop=shop,
        delivery_id=sync_delivery_id(product),
        topic=SYNC_TOPIC,
        body=_body(product),
        product=product_input(product),
        database=database,
        enqueue=enqueue,
    )
    if accepted.new and accepted.reason is None:
        return None
    return accepted.reason or "known"


def _body(product: WooProduct) -> bytes:
    """What the inbox keeps for a synthetic delivery: the fields the sync read."""
    return json.dumps(
        {
            "id": product.id,
            "name": product.name,
            "permalink": product.permalink,
            "status": product.status,
            "date_modified_gmt": (
                product.date_modified_gmt.isoformat() if product.date_modified_gmt else None
            ),
        },
        ensure_ascii=False,
    ).encode("utf-8")
