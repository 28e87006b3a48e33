"""The Shopify Admin GraphQL calls the connector makes: read a product, write its short URL.

Every call is one validated document from :mod:`integrations.shopify.graphql` executed by the
shared :class:`GraphQLClient`, which raises the typed errors (HTTP, top-level, user errors,
throttling) described in :mod:`integrations.shopify.graphql.errors`.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass
from typing import Any

import requests

from .graphql import GraphQLClient, load_document
from .graphql.client import DEFAULT_TIMEOUT
from .settings import DEFAULT_API_VERSION, ShopifySettings, get_settings
from .webhooks import PRODUCT_GID_PREFIX, SHORT_URL_KEY, SHORT_URL_NAMESPACE

METAFIELD_NAMESPACE = SHORT_URL_NAMESPACE
METAFIELD_KEY = SHORT_URL_KEY
METAFIELD_TYPE = "url"
SYNC_PAGE_SIZE = 50


class ProductNotFound(LookupError):
    """The shop has no product with that id (deleted, or never existed)."""


@dataclass(frozen=True)
class ShortlinkTarget:
    """What shortening needs to know about one Shopify product."""

    gid: str
    title: str
    handle: str
    status: str  # GraphQL ProductStatus: ACTIVE, DRAFT, ARCHIVED, UNLISTED
    url: str  # onlineStoreUrl, else https://{primary domain}/products/{handle}
    short_url: str | None  # metafield kliqs.short_url as stored, for echo detection

    @property
    def is_active(self) -> bool:
        """True when the product is ACTIVE (the only status that is shortened)."""
        return self.status == "ACTIVE"


def product_gid(product_id: int | str) -> str:
    """``gid://shopify/Product/<id>`` for a numeric id; a gid is returned unchanged."""
    text = str(product_id)
    return text if text.startswith("gid://") else f"{PRODUCT_GID_PREFIX}{text}"


class ShopifyAdmin:
    """Admin GraphQL client for one shop, authenticated with ``X-Shopify-Access-Token``."""

    def __init__(
        self,
        shop: str,
        access_token: str,
        *,
        api_version: str = DEFAULT_API_VERSION,
        admin_url: str | None = None,
        session: requests.Session | None = None,
        timeout: float = DEFAULT_TIMEOUT,
        sleep: Callable[[float], None] = time.sleep,
        max_throttle_retries: int = 5,
        defer_throttle_over: float | None = None,
    ) -> None:
        self.shop = shop
        self.api_version = api_version
        base = (admin_url or f"https://{shop}").rstrip("/")
        self.endpoint = f"{base}/admin/api/{api_version}/graphql.json"
        self.client = GraphQLClient(
            self.endpoint,
            {"X-Shopify-Access-Token": access_token},
            session=session,
            timeout=timeout,
            sleep=sleep,
            max_throttle_retries=max_throttle_retries,
            defer_throttle_over=defer_throttle_over,
        )

    @classmethod
    def from_settings(cls, settings: ShopifySettings | None = None, **kwargs: Any) -> ShopifyAdmin:
        """Build from ``SHOPIFY_*`` settings; raises ``ShopifyNotConfigured`` if incomplete."""
        settings = settings or get_settings()
        settings.require("shop", "access_token")
        shop, token = settings.shop or "", settings.access_token
        return cls(
            shop,
            token.get_secret_value() if token else "",
            api_version=settings.api_version,
            admin_url=settings.admin_url,
            **kwargs,
        )

    def product_for_shortlink(self, gid: str) -> ShortlinkTarget:
        """The product's storefront URL and stored short URL; :class:`ProductNotFound` if gone."""
        data = self.client.execute(load_document("ProductForShortlink"), {"id": product_gid(gid)})
        product = data.get("product")
        if not isinstance(product, Mapping):
            raise ProductNotFound(f"no product {gid} in {self.shop}")
        return self._target(product, data.get("shop"))

    def set_short_url(self, gid: str, url: str) -> None:
        """Write ``url`` to metafield ``kliqs.short_url`` (type ``url``) on the product."""
        metafield = {
            "ownerId": product_gid(gid),
            "namespace": METAFIELD_NAMESPACE,
            "key": METAFIELD_KEY,
            "type": METAFIELD_TYPE,
            "value": url,
        }
        self.client.execute(load_document("SetShortlink"), {"metafields": [metafield]})

    def iter_products_without_shortlink(
        self, *, page_size: int = SYNC_PAGE_SIZE
    ) -> Iterator[ShortlinkTarget]:
        """Every active product that has no ``kliqs.short_url`` yet, page by page."""
        return (t for t in self.iter_active_products(page_size=page_size) if not t.short_url)

    def iter_active_products(self, *, page_size: int = SYNC_PAGE_SIZE) -> Iterator[ShortlinkTarget]:
        """Every active product with its stored short URL (if any), page by page."""
        document = load_document("ProductsWithoutShortlink")
        after: str | None = None
        while True:
            data = self.client.execute(document, {"first": page_size, "after": after})
            connection = data.get("products") or {}
            for node in connection.get("nodes") or []:
                yield self._target(node, data.get("shop"))
            page = connection.get("pageInfo") or {}
            after = page.get("endCursor")
            if not page.get("hasNextPage") or not after:
                return

    def count_active_products(self) -> int | None:
        """How many products are active (``productsCount``), or ``None`` if not told."""
        data = self.client.execute(load_document("ActiveProductsCount"))
        counted = data.get("productsCount")
        count = counted.get("count") if isinstance(counted, Mapping) else None
        return count if isinstance(count, int) and not isinstance(count, bool) else None

    def close(self) -> None:
        """Close the HTTP session this client created."""
        self.client.close()

    def _target(self, product: Mapping[str, Any], shop: Any) -> ShortlinkTarget:
        metafield = product.get("metafield")
        short_url = metafield.get("value") if isinstance(metafield, Mapping) else None
        return ShortlinkTarget(
            gid=str(product["id"]),
            title=str(product.get("title") or ""),
            handle=str(product.get("handle") or ""),
            status=str(product.get("status") or ""),
            url=self._product_url(product, shop),
            short_url=short_url or None,
        )

    def _product_url(self, product: Mapping[str, Any], shop: Any) -> str:
        online = product.get("onlineStoreUrl")
        if online:
            return str(online)
        domain = shop.get("primaryDomain") if isinstance(shop, Mapping) else None
        base = domain.get("url") if isinstance(domain, Mapping) else None
        base = str(base or f"https://{self.shop}").rstrip("/")
        return f"{base}/products/{product.get('handle') or ''}"
