"""Saleor as a connector platform: storefront URL from the template, short URL into metadata.

- :meth:`SaleorPlatform.product_url` fills ``SALEOR_STOREFRONT_URL_TEMPLATE`` with the slug the
  webhook carried: Saleor has no permalink, and no API call is needed.
- :meth:`SaleorPlatform.write_back` runs ``updateMetadata`` (public key ``kliqs_short_url``),
  idempotent: the same key gets the same value again after a crash.

GraphQL failures leave as the runtime's transient or permanent errors with ``SALEOR_`` codes
(:mod:`integrations.shopify.graphql.platform_errors`); the mutation's ``errors`` list fails
the product with its messages.
"""

from __future__ import annotations

import os
import threading
from collections.abc import Callable

from kliqs_core.connector import PermanentPlatformError, ProductRecord

from integrations.shopify.graphql.platform_errors import raising_platform_errors
from integrations.shopify.platform import may_repeat

from .api import ProductNotFound, SaleorAPI

__all__ = ["PLATFORM", "SaleorPlatform"]

PLATFORM = "saleor"

ApiFactory = Callable[[], SaleorAPI]


class SaleorPlatform:
    """The connector platform ``saleor`` for the one configured Saleor API."""

    name = PLATFORM

    def __init__(self, api_factory: ApiFactory) -> None:
        self._factory = api_factory
        self._api: SaleorAPI | None = None
        self._pid = 0
        self._lock = threading.Lock()

    def product_url(self, product: ProductRecord) -> str:
        """The storefront URL: the configured template with the product's slug."""
        if product.product_url:
            return product.product_url
        slug = product.data.get("slug")
        if not isinstance(slug, str) or not slug:
            raise PermanentPlatformError(
                "SALEOR_NO_SLUG", f"product {product.product_id} has no slug to build its URL"
            )
        return self.api().product_url(slug)

    def write_back(self, product: ProductRecord, short_url: str) -> None:
        """Set public metadata ``kliqs_short_url`` on the product (idempotent).

        A run that may repeat an earlier one reads the metadata first: the same value again
        would only make Saleor send another update event.
        """
        with raising_platform_errors(PLATFORM):
            if may_repeat(product) and self._stored_short_url(product) == short_url:
                return
            self.api().set_short_url(product.product_id, short_url)

    def _stored_short_url(self, product: ProductRecord) -> str | None:
        try:
            return self.api().product(product.product_id).short_url
        except ProductNotFound as exc:
            raise PermanentPlatformError("SALEOR_PRODUCT_NOT_FOUND", str(exc)) from exc

    def api(self) -> SaleorAPI:
        """This process' API client, built on first use (again in a forked child)."""
        with self._lock:
            if self._api is None or self._pid != os.getpid():
                # A prefork child must not share the parent's HTTP connections.
                self._api, self._pid = self._factory(), os.getpid()
            return self._api
