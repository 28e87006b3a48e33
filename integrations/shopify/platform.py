"""Shopify as a connector platform: the product's storefront URL, and the short URL written back.

Both steps run in the worker and go to the Admin GraphQL API:

- :meth:`ShopifyPlatform.product_url` asks for ``onlineStoreUrl`` (else the primary domain plus
  ``/products/{handle}``): the webhook carries no storefront URL. It runs once per product, before
  the create-link request is stored, so a transient error here just retries the product.
- :meth:`ShopifyPlatform.write_back` sets metafield ``kliqs.short_url`` (type ``url``) with
  ``metafieldsSet``, which is idempotent: running it again after a crash sets the same value.

Every GraphQL failure leaves as the runtime's transient or permanent error
(:mod:`integrations.shopify.graphql.platform_errors`): throttling waits in place up to
:data:`THROTTLE_WAIT_IN_WORKER` seconds, longer waits go back to the queue with their
``retry_after``; ``userErrors`` fail the product with their messages.
"""

from __future__ import annotations

import os
import threading
from collections.abc import Callable

from kliqs_core.connector import PermanentPlatformError, ProductRecord

from .api import ProductNotFound, ShopifyAdmin, ShortlinkTarget, product_gid
from .graphql.platform_errors import raising_platform_errors
from .settings import ShopifySettings

__all__ = [
    "PLATFORM",
    "THROTTLE_WAIT_IN_WORKER",
    "ShopifyPlatform",
    "admin_for_worker",
    "may_repeat",
]

PLATFORM = "shopify"
#: A THROTTLED answer asking for longer than this is retried by the queue, not slept on.
THROTTLE_WAIT_IN_WORKER = 10.0
_THROTTLE_WAITS_IN_WORKER = 3

AdminFactory = Callable[[], ShopifyAdmin]


def admin_for_worker(settings: ShopifySettings) -> AdminFactory:
    """A factory of Admin clients that wait out short throttles and defer long ones."""

    def build() -> ShopifyAdmin:
        return ShopifyAdmin.from_settings(
            settings,
            max_throttle_retries=_THROTTLE_WAITS_IN_WORKER,
            defer_throttle_over=THROTTLE_WAIT_IN_WORKER,
        )

    return build


class ShopifyPlatform:
    """The connector platform ``shopify`` for the one configured shop."""

    name = PLATFORM

    def __init__(self, admin_factory: AdminFactory) -> None:
        self._factory = admin_factory
        self._admin: ShopifyAdmin | None = None
        self._pid = 0
        self._lock = threading.Lock()

    def product_url(self, product: ProductRecord) -> str:
        """The storefront URL: stored by a sync, else asked of the Admin API."""
        if product.product_url:
            return product.product_url
        with raising_platform_errors(PLATFORM):
            return self._target(_gid(product)).url

    def write_back(self, product: ProductRecord, short_url: str) -> None:
        """Set metafield ``kliqs.short_url`` on the product (idempotent).

        Setting the same value again is harmless but makes Shopify send one more
        ``products/update``; so a run that may repeat an earlier one (after a failure, or
        picked up by the sweeper after a crash) reads the metafield first.
        """
        gid = _gid(product)
        with raising_platform_errors(PLATFORM):
            if may_repeat(product) and self._stored_short_url(gid) == short_url:
                return
            self.admin().set_short_url(gid, short_url)

    def _stored_short_url(self, gid: str) -> str | None:
        return self._target(gid).short_url

    def _target(self, gid: str) -> ShortlinkTarget:
        try:
            return self.admin().product_for_shortlink(gid)
        except ProductNotFound as exc:
            raise PermanentPlatformError("SHOPIFY_PRODUCT_NOT_FOUND", str(exc)) from exc

    def admin(self) -> ShopifyAdmin:
        """This process' Admin client, built on first use (again in a forked child)."""
        with self._lock:
            if self._admin is None or self._pid != os.getpid():
                # A prefork child must not share the parent's HTTP connections.
                self._admin, self._pid = self._factory(), os.getpid()
            return self._admin


def may_repeat(product: ProductRecord) -> bool:
    """True when an earlier run may have done this step already (check before acting)."""
    # attempts > 0: an earlier try failed (a timeout may still have been applied);
    # sweep_count > 0: the sweeper re-queued the product, so a run may have died mid-step.
    return product.attempts > 0 or product.sweep_count > 0


def _gid(product: ProductRecord) -> str:
    gid = product.data.get("gid")
    return gid if isinstance(gid, str) and gid else product_gid(product.product_id)
