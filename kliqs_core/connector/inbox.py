"""The webhook inbox: store a verified delivery and its product in one transaction, then queue.

A webhook handler calls :func:`accept_webhook` after verifying the signature and before
answering 200. The delivery row and the product row are committed together; the product task
is queued only after the commit, so a worker never looks for a row that is not there yet. If
queueing fails (broker down, process killed), the sweeper re-queues the product later.
"""

from __future__ import annotations

import json
import logging
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field, replace
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import Connection, Select, Table, bindparam, exists, insert, select, update
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from kliqs_core.connector.db import Database
from kliqs_core.connector.direct import send_on_psycopg
from kliqs_core.connector.models import (
    InboxStatus,
    Product,
    ProductState,
    WebhookDelivery,
    utcnow,
)
from kliqs_core.connector.records import ProductRecord
from kliqs_core.connector.writer import writer_for
from kliqs_core.hotsql import HotStatement

__all__ = [
    "Accepted",
    "ProductInput",
    "accept_webhook",
    "accept_webhook_async",
    "find_product",
    "mark_processed",
    "reject_webhook",
    "reject_webhook_async",
    "store_rejected",
    "store_webhook",
]

log = logging.getLogger(__name__)

Enqueue = Callable[[int], object]

# The statements run before every webhook's 200, built once: with bound parameters (and the
# columns to write taken from the parameters) SQLAlchemy reuses their compiled form.
_PRODUCTS: Table = Product.__table__  # type: ignore[assignment]
_DELIVERIES: Table = WebhookDelivery.__table__  # type: ignore[assignment]
_FIND_DELIVERY = select(_DELIVERIES.c.status, _DELIVERIES.c.product_pk).where(
    _DELIVERIES.c.platform == bindparam("f_platform"),
    _DELIVERIES.c.shop == bindparam("f_shop"),
    _DELIVERIES.c.delivery_id == bindparam("f_delivery_id"),
)
_FIND_PRODUCT = select(_PRODUCTS.c.id, _PRODUCTS.c.state).where(
    _PRODUCTS.c.platform == bindparam("f_platform"),
    _PRODUCTS.c.shop == bindparam("f_shop"),
    _PRODUCTS.c.product_id == bindparam("f_product_id"),
)
_INSERT_PRODUCT = insert(_PRODUCTS).returning(_PRODUCTS.c.id)
_REFRESH_PRODUCT = update(_PRODUCTS).where(_PRODUCTS.c.id == bindparam("f_pk"))
_INSERT_DELIVERY = insert(_DELIVERIES)
# Run as each product finishes: built once too (an ORM statement per call cost 0.1 ms).
_MARK_PROCESSED = (
    update(_DELIVERIES)
    .where(_DELIVERIES.c.product_pk == bindparam("f_pk"))
    .where(_DELIVERIES.c.status == InboxStatus.ACCEPTED.value)
    .values(status=InboxStatus.PROCESSED.value)
)


@dataclass(frozen=True)
class ProductInput:
    """The product a webhook announces, as the platform's handler parsed it."""

    product_id: str
    title: str
    #: The public URL when the payload carries it (WooCommerce ``permalink``); else the
    #: platform's ``product_url()`` builds it from ``data`` at shortening time.
    product_url: str | None = None
    #: JSON-serialisable platform fields the later steps need.
    data: Mapping[str, Any] = field(default_factory=dict)


@dataclass(frozen=True)
class Accepted:
    """What :func:`accept_webhook` did with a delivery."""

    #: False when this (platform, shop, delivery_id) was stored before: a re-delivery.
    new: bool
    status: InboxStatus
    reason: str | None
    product_pk: int | None
    #: True when the product task was handed to the broker by this call.
    queued: bool = False


def accept_webhook(
    *,
    platform: str,
    shop: str,
    delivery_id: str | None,
    topic: str,
    body: bytes,
    product: ProductInput | None,
    ignore_reason: str | None = None,
    database: Database | None = None,
    enqueue: Enqueue | None = None,
    grace_seconds: float | None = None,
) -> Accepted:
    """Store a verified delivery (and upsert its product), commit, then queue the product.

    ``product=None`` stores the delivery as ``ignored`` with ``ignore_reason`` (a draft, the
    connector's own write-back echo, a topic the connector does not act on). A re-delivery
    of a stored ``delivery_id`` changes nothing. ``database``, ``enqueue`` and
    ``grace_seconds`` default to the process runtime's.
    """
    database, grace_seconds = _defaults(database, grace_seconds)
    accepted = _store_with_retry(
        database,
        dict(platform=platform, shop=shop, delivery_id=delivery_id, topic=topic, body=body),
        product,
        ignore_reason,
        grace_seconds,
    )
    return _queue_if_new(accepted, enqueue)


async def accept_webhook_async(
    *,
    platform: str,
    shop: str,
    delivery_id: str | None,
    topic: str,
    body: bytes,
    product: ProductInput | None,
    ignore_reason: str | None = None,
    database: Database | None = None,
    enqueue: Enqueue | None = None,
    grace_seconds: float | None = None,
) -> Accepted:
    """:func:`accept_webhook` for a handler on the event loop: the same rows and answer.

    The store runs on the database's :class:`~kliqs_core.connector.writer.BatchWriter`,
    in one transaction with the other webhooks waiting at that moment; the loop never
    blocks. The product is queued (``enqueue``) after the commit, as with the sync call.
    """
    database, grace_seconds = _defaults(database, grace_seconds)
    delivery: dict[str, Any] = dict(
        platform=platform, shop=shop, delivery_id=delivery_id, topic=topic, body=body
    )

    def store(conn: Connection) -> Accepted:
        return store_webhook(conn, **delivery, product=product, ignore_reason=ignore_reason,
                             grace_seconds=grace_seconds)  # fmt: skip

    writer = writer_for(database)
    if product is None or ignore_reason is not None:
        accepted = await writer.run(store)
    elif database.is_sqlite:
        accepted = await writer.run(
            lambda conn: _new_product_on_sqlite(conn, delivery, product, grace_seconds)
            or store(conn)
        )
    else:
        item = _NewProduct(delivery, product, grace_seconds, store)
        accepted = await writer.run_grouped(_store_new_products, item)
    return _queue_if_new(accepted, enqueue)


def reject_webhook(
    *,
    platform: str,
    shop: str,
    delivery_id: str | None,
    topic: str,
    body: bytes,
    reason: str,
    database: Database | None = None,
) -> Accepted:
    """Store a delivery that verified but cannot be used (malformed payload) as ``rejected``."""
    database, _ = _defaults(database, 0.0)
    with database.begin() as conn:
        return store_rejected(conn, platform, shop, delivery_id, topic, body, reason)


async def reject_webhook_async(
    *,
    platform: str,
    shop: str,
    delivery_id: str | None,
    topic: str,
    body: bytes,
    reason: str,
    database: Database | None = None,
) -> Accepted:
    """:func:`reject_webhook` for a handler on the event loop (see
    :func:`accept_webhook_async`)."""
    database, _ = _defaults(database, 0.0)
    return await writer_for(database).run(
        lambda conn: store_rejected(conn, platform, shop, delivery_id, topic, body, reason)
    )


def store_rejected(
    conn: Connection,
    platform: str,
    shop: str,
    delivery_id: str | None,
    topic: str,
    body: bytes,
    reason: str,
) -> Accepted:
    """The transactional part of :func:`reject_webhook`, on the caller's connection."""
    existing = _find_delivery(conn, platform, shop, delivery_id)
    if existing is not None:
        return _duplicate(existing)
    _add_delivery(conn, platform, shop, delivery_id, topic, body, InboxStatus.REJECTED, reason)
    return Accepted(new=True, status=InboxStatus.REJECTED, reason=reason, product_pk=None)


def find_product(
    platform: str, shop: str, product_id: str, *, database: Database | None = None
) -> ProductRecord | None:
    """The stored product, if any (handlers use it to recognise their own write-back echo)."""
    from kliqs_core.connector import runtime

    database = database or runtime.get_database()
    with database.transaction() as session:
        row = _find_product(session, platform, shop, product_id)
        return ProductRecord.from_row(row) if row is not None else None


def mark_processed(session: Session | Connection, product_pk: int) -> None:
    """Mark a finished product's accepted deliveries as processed."""
    session.execute(_MARK_PROCESSED, {"f_pk": product_pk})


def _defaults(database: Database | None, grace_seconds: float | None) -> tuple[Database, float]:
    """The runtime's database and sweep grace where the caller gave none."""
    from kliqs_core.connector import runtime

    if grace_seconds is None:
        grace_seconds = runtime.get_settings().connector_sweep_grace
    return database or runtime.get_database(), grace_seconds


def _queue_if_new(accepted: Accepted, enqueue: Enqueue | None) -> Accepted:
    """Queue a newly accepted product (after its commit); what was queued is noted."""
    if not _should_queue(accepted):
        return accepted
    from kliqs_core.connector import runtime

    return replace(accepted, queued=_enqueue_safely(enqueue or runtime.enqueue_product, accepted))


def _should_queue(accepted: Accepted) -> bool:
    return accepted.new and accepted.reason is None and accepted.product_pk is not None


def _enqueue_safely(enqueue: Enqueue, accepted: Accepted) -> bool:
    assert accepted.product_pk is not None
    try:
        enqueue(accepted.product_pk)
    except Exception:
        # The rows are committed: the sweeper queues this product later. Answer 200 anyway.
        log.warning(
            "could not queue product %s; the sweeper will", accepted.product_pk, exc_info=True
        )
        return False
    return True


def _store_with_retry(
    database: Database,
    delivery: dict[str, Any],
    product: ProductInput | None,
    ignore_reason: str | None,
    grace_seconds: float,
) -> Accepted:
    # Two deliveries racing on a new product (PostgreSQL) make one insert fail on the unique
    # constraint; the second try sees the winner's rows. A Core connection, not a session:
    # this runs before every webhook's 200.
    if product is not None and ignore_reason is None and not database.is_sqlite:
        fast = _insert_new_product(database, delivery, product, grace_seconds)
        if fast is not None:
            return fast
    fast_on_sqlite = product is not None and ignore_reason is None and database.is_sqlite
    for attempt in range(2):
        try:
            with database.begin() as conn:
                if fast_on_sqlite:
                    assert product is not None
                    accepted = _new_product_on_sqlite(conn, delivery, product, grace_seconds)
                    if accepted is not None:
                        return accepted
                return store_webhook(
                    conn,
                    **delivery,
                    product=product,
                    ignore_reason=ignore_reason,
                    grace_seconds=grace_seconds,
                )
        except IntegrityError:
            if attempt == 1:
                raise
    raise AssertionError("unreachable")


def _insert_new_product(
    database: Database, delivery: dict[str, Any], product: ProductInput, grace_seconds: float
) -> Accepted | None:
    """PostgreSQL, the common case: a first delivery of a new product in ONE statement.

    One round trip instead of six (``BEGIN``, two reads, two inserts, ``COMMIT``). ``None``
    when the product or the delivery is known (or a racing delivery just stored either):
    the caller then takes the general path, which sees those rows and decides.
    """
    try:
        with database.statement() as conn:
            pk = _insert_new_products(conn, [_NewProduct(delivery, product, grace_seconds)])[0]
    except IntegrityError:
        return None  # a racing delivery stored this delivery id first
    return _new(pk) if pk is not None else None


def _new_product_on_sqlite(
    conn: Connection, delivery: dict[str, Any], product: ProductInput, grace_seconds: float
) -> Accepted | None:
    """SQLite, the common case: a first delivery of a new product in two statements.

    SQLite has no inserts inside a ``WITH``, so it is the product insert (nothing when the
    product or the delivery id is known) and then, for a new product, the delivery's: two
    statements instead of two reads and two inserts. ``None``: the general path decides.
    """
    now = utcnow()
    params = _new_product_params(delivery, product, grace_seconds, now)
    pk = _NEW_PRODUCT_ON_SQLITE.execute(conn, params).scalar()
    if pk is None:
        return None
    _NEW_DELIVERY_ON_SQLITE.execute(conn, dict(delivery, status=InboxStatus.ACCEPTED.value,
                                               reason=None, product_pk=pk, received_at=now))
    return _new(int(pk))


def _new_product_params(
    delivery: dict[str, Any], product: ProductInput, grace_seconds: float, now: datetime
) -> dict[str, Any]:
    """The bound parameters of the SQLite product insert."""
    return dict(
        delivery, received_at=now, status=InboxStatus.ACCEPTED.value, reason=None,
        product_id=product.product_id, title=product.title, product_url=product.product_url,
        data=dict(product.data), state=ProductState.RECEIVED.value, slug_attempt=0,
        attempts=0, sweep_count=0, created_at=now, updated_at=now,
        next_sweep_at=now + timedelta(seconds=grace_seconds),
    )  # fmt: skip


@dataclass(frozen=True)
class _NewProduct:
    """A webhook announcing a product that is probably new (the PostgreSQL fast path)."""

    delivery: dict[str, Any]
    product: ProductInput
    grace_seconds: float
    #: The general path, for when the product or the delivery id turns out to be known.
    general: Callable[[Connection], Accepted] | None = None


def _store_new_products(conn: Connection, items: list[_NewProduct]) -> list[Accepted]:
    """A batch writer group: every new product of the batch in one statement, then the
    general path for those it did not insert (known product or delivery, in batch order)."""
    pks = _insert_new_products(conn, items)
    results = []
    for item, pk in zip(items, pks, strict=True):
        if pk is not None:
            results.append(_new(pk))
        else:
            assert item.general is not None
            results.append(item.general(conn))
    return results


def _new(product_pk: int) -> Accepted:
    return Accepted(new=True, status=InboxStatus.ACCEPTED, reason=None, product_pk=product_pk)


def _insert_new_products(conn: Connection, items: list[_NewProduct]) -> list[int | None]:
    """Run :data:`_NEW_PRODUCTS_SQL` for ``items``; per item, the new product's id or None."""
    now = utcnow()
    columns: dict[str, list[Any]] = {name: [] for name in _NEW_PRODUCTS_ARRAYS}
    for item in items:
        row = dict(item.delivery, product_id=item.product.product_id, title=item.product.title,
                   product_url=item.product.product_url, data=json.dumps(dict(item.product.data)),
                   next_sweep_at=now + timedelta(seconds=item.grace_seconds))  # fmt: skip
        for name, values in columns.items():
            values.append(row[name])
    params = dict(columns, now=now, state=ProductState.RECEIVED.value,
                  status=InboxStatus.ACCEPTED.value)  # fmt: skip
    cursor = send_on_psycopg(conn, _NEW_PRODUCTS_SQL, params)
    try:
        inserted = {int(n): int(pk) for n, pk in cursor.fetchall()}
    finally:
        cursor.close()
    return [inserted.get(n) for n in range(1, len(items) + 1)]


def _param(table: Table, name: str) -> Any:
    return bindparam(name, type_=table.c[name].type)


def _new_product_rows() -> Select[Any]:
    """The new product's row as a ``SELECT`` of parameters, empty when the delivery id is
    already stored."""
    known_delivery = exists().where(
        _DELIVERIES.c.platform == _param(_DELIVERIES, "platform"),
        _DELIVERIES.c.shop == _param(_DELIVERIES, "shop"),
        _DELIVERIES.c.delivery_id == _param(_DELIVERIES, "delivery_id"),
    )
    return select(*(_param(_PRODUCTS, c) for c in _NEW_PRODUCT_COLUMNS)).where(~known_delivery)


_PRODUCT_KEY = [_PRODUCTS.c.platform, _PRODUCTS.c.shop, _PRODUCTS.c.product_id]


_NEW_PRODUCTS_ARRAYS = [
    "platform", "shop", "delivery_id", "topic", "body", "product_id", "title", "product_url",
    "data", "next_sweep_at",
]  # fmt: skip
# PostgreSQL: the first deliveries of new products, a batch at once, in ONE statement. The
# batch comes in as arrays, sent in binary (%b): psycopg's text format escapes every element
# in Python, 45 µs a row against 7 (measured; the bodies are kilobytes). Per product (the
# first of the batch's deliveries for it) whose delivery id is not stored, insert the product
# (nothing if it exists: ON CONFLICT) and, for those inserted, the delivery. Returns
# (position in the batch, product id) of what it inserted; the rest take the general path. A
# delivery id stored meanwhile by a racing transaction fails the statement on the unique key,
# undoing all of it (the batch writer then runs each webhook alone).
_NEW_PRODUCTS_SQL = f"""
WITH input AS (
    SELECT * FROM unnest(
        %(platform)b::text[], %(shop)b::text[], %(delivery_id)b::text[], %(topic)b::text[],
        %(body)b::bytea[], %(product_id)b::text[], %(title)b::text[], %(product_url)b::text[],
        %(data)b::text[], %(next_sweep_at)b::timestamptz[]
    ) WITH ORDINALITY AS i(platform, shop, delivery_id, topic, body, product_id, title,
                           product_url, data, next_sweep_at, n)
), fresh AS (
    SELECT DISTINCT ON (platform, shop, product_id) * FROM input i
    WHERE NOT EXISTS (SELECT 1 FROM {_DELIVERIES.name} d WHERE d.platform = i.platform
                      AND d.shop = i.shop AND d.delivery_id = i.delivery_id)
    ORDER BY platform, shop, product_id, n
), new_product AS (
    INSERT INTO {_PRODUCTS.name} (platform, shop, product_id, title, product_url, data, state,
        slug_attempt, attempts, sweep_count, created_at, updated_at, next_sweep_at)
    SELECT platform, shop, product_id, title, product_url, data::json, %(state)s, 0, 0, 0,
        %(now)s, %(now)s, next_sweep_at
    FROM fresh
    ON CONFLICT (platform, shop, product_id) DO NOTHING
    RETURNING id, platform, shop, product_id
), new_delivery AS (
    INSERT INTO {_DELIVERIES.name} (platform, shop, delivery_id, topic, body, status, reason,
        received_at, product_pk)
    SELECT f.platform, f.shop, f.delivery_id, f.topic, f.body, %(status)s, NULL, %(now)s, p.id
    FROM fresh f JOIN new_product p USING (platform, shop, product_id)
)
SELECT f.n, p.id FROM fresh f JOIN new_product p USING (platform, shop, product_id)
"""


_NEW_PRODUCT_COLUMNS = [
    "platform", "shop", "product_id", "title", "product_url", "data", "state", "slug_attempt",
    "attempts", "sweep_count", "created_at", "updated_at", "next_sweep_at",
]  # fmt: skip
_NEW_PRODUCT_ON_SQLITE = HotStatement(
    sqlite_insert(_PRODUCTS)
    .from_select(_NEW_PRODUCT_COLUMNS, _new_product_rows())
    .on_conflict_do_nothing(index_elements=_PRODUCT_KEY)
    .returning(_PRODUCTS.c.id)
)
_NEW_DELIVERY_ON_SQLITE = HotStatement(_INSERT_DELIVERY, column_keys=[
    "platform", "shop", "delivery_id", "topic", "body", "status", "reason", "product_pk",
    "received_at",
])  # fmt: skip


def store_webhook(
    session: Session | Connection,
    *,
    platform: str,
    shop: str,
    delivery_id: str | None,
    topic: str,
    body: bytes,
    product: ProductInput | None,
    ignore_reason: str | None = None,
    grace_seconds: float = 120.0,
    now: datetime | None = None,
) -> Accepted:
    """The transactional part of :func:`accept_webhook`, on the caller's session or connection
    (no queueing)."""
    now = now or utcnow()
    existing = _find_delivery(session, platform, shop, delivery_id)
    if existing is not None:
        return _duplicate(existing)
    if product is None:
        why = ignore_reason or "no product"
        _add_delivery(session, platform, shop, delivery_id, topic, body, InboxStatus.IGNORED, why)
        return Accepted(new=True, status=InboxStatus.IGNORED, reason=why, product_pk=None)
    pk, reason = _upsert_product(session, platform, shop, product, now, grace_seconds)
    status = InboxStatus.ACCEPTED if reason in (None, "pending") else InboxStatus.IGNORED
    _add_delivery(session, platform, shop, delivery_id, topic, body, status, reason, pk)
    return Accepted(new=True, status=status, reason=reason, product_pk=pk)


def _upsert_product(
    conn: Session | Connection,
    platform: str,
    shop: str,
    product: ProductInput,
    now: datetime,
    grace_seconds: float,
) -> tuple[int, str | None]:
    """Insert the product (reason ``None``: queue it) or refresh it (reason says why not)."""
    row = conn.execute(
        _FIND_PRODUCT,
        {"f_platform": platform, "f_shop": shop, "f_product_id": product.product_id},
    ).first()
    if row is None:
        values = dict(
            platform=platform, shop=shop, product_id=product.product_id, title=product.title,
            product_url=product.product_url, data=dict(product.data),
            state=ProductState.RECEIVED.value, slug_attempt=0, attempts=0, sweep_count=0,
            created_at=now, updated_at=now, next_sweep_at=now + timedelta(seconds=grace_seconds),
        )  # fmt: skip
        return int(conn.execute(_INSERT_PRODUCT, values).scalar_one()), None
    pk, state = int(row.id), str(row.state)
    if state in (ProductState.SHORTENED, ProductState.WRITTEN_BACK):
        return pk, "in_progress"
    if state == ProductState.NOTIFIED:
        return pk, "already_done"
    # Not shortened yet (waiting, parked or failed): keep the freshest title and URL for it.
    conn.execute(
        _REFRESH_PRODUCT,
        {"f_pk": pk, "title": product.title, "product_url": product.product_url,
         "data": dict(product.data), "updated_at": now},
    )  # fmt: skip
    return pk, "pending" if state == ProductState.RECEIVED else f"product_{state}"


def _find_product(session: Session, platform: str, shop: str, product_id: str) -> Product | None:
    return session.scalars(
        select(Product).where(
            Product.platform == platform, Product.shop == shop, Product.product_id == product_id
        )
    ).one_or_none()


def _find_delivery(
    conn: Session | Connection, platform: str, shop: str, delivery_id: str | None
) -> Any:  # a (status, product_pk) Row, or None
    if delivery_id is None:
        return None
    return conn.execute(
        _FIND_DELIVERY, {"f_platform": platform, "f_shop": shop, "f_delivery_id": delivery_id}
    ).first()


def _duplicate(existing: Any) -> Accepted:
    return Accepted(
        new=False,
        status=InboxStatus(existing.status),
        reason="duplicate_delivery",
        product_pk=existing.product_pk,
    )


def _add_delivery(
    conn: Session | Connection,
    platform: str,
    shop: str,
    delivery_id: str | None,
    topic: str,
    body: bytes,
    status: InboxStatus,
    reason: str | None,
    product_pk: int | None = None,
) -> None:
    conn.execute(
        _INSERT_DELIVERY,
        {
            "platform": platform,
            "shop": shop,
            "delivery_id": delivery_id,
            "topic": topic,
            "body": body,
            "status": status.value,
            "reason": reason,
            "product_pk": product_pk,
            "received_at": utcnow(),
        },
    )
