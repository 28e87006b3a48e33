"""The Saleor GraphQL calls the connector makes: read a product, write its short URL.

Reuses the GraphQL machinery of :mod:`integrations.shopify.graphql` (validated documents,
typed errors); authentication is an app token sent as ``Authorization: Bearer``.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any
from urllib.parse import quote

import requests

from integrations.shopify.graphql import GraphQLClient
from integrations.shopify.graphql.client import DEFAULT_TIMEOUT

from .graphql import load_document
from .settings import SaleorNotConfigured, SaleorSettings, get_settings
from .webhooks import SHORT_URL_METADATA_KEY, SaleorProduct, parse_product


class ProductNotFound(LookupError):
    """Saleor has no product with that id (deleted, or not visible to the app)."""


class SaleorAPI:
    """Saleor GraphQL client for one shop."""

    def __init__(
        self,
        api_url: str,
        app_token: str,
        *,
        storefront_url_template: str | None = None,
        session: requests.Session | None = None,
        timeout: float = DEFAULT_TIMEOUT,
    ) -> None:
        self.api_url = api_url
        self.storefront_url_template = storefront_url_template
        self.client = GraphQLClient(
            api_url,
            {"Authorization": f"Bearer {app_token}"},
            session=session,
            timeout=timeout,
        )

    @classmethod
    def from_settings(cls, settings: SaleorSettings | None = None, **kwargs: Any) -> SaleorAPI:
        """Build from ``SALEOR_*`` settings; raises :class:`SaleorNotConfigured` if incomplete."""
        settings = settings or get_settings()
        settings.require("api_url", "app_token")
        token = settings.app_token
        return cls(
            settings.api_url or "",
            token.get_secret_value() if token else "",
            storefront_url_template=settings.storefront_url_template,
            **kwargs,
        )

    def product(self, product_id: str) -> SaleorProduct:
        """Slug, metadata and channel listings of a product; :class:`ProductNotFound` if gone."""
        data = self.client.execute(load_document("ProductForShortlink"), {"id": product_id})
        product = data.get("product")
        if not isinstance(product, Mapping):
            raise ProductNotFound(f"no product {product_id} at {self.api_url}")
        return parse_product(product)

    def set_short_url(self, product_id: str, url: str) -> None:
        """Write ``url`` into the product's public metadata under ``kliqs_short_url``."""
        self.client.execute(
            load_document("UpdateShortlinkMetadata"),
            {"id": product_id, "input": [{"key": SHORT_URL_METADATA_KEY, "value": url}]},
        )

    def product_url(self, slug: str) -> str:
        """The storefront URL of a product: the configured template with ``{slug}`` filled."""
        if not self.storefront_url_template:
            raise SaleorNotConfigured(
                "Saleor has no product permalink: set SALEOR_STOREFRONT_URL_TEMPLATE"
            )
        return self.storefront_url_template.replace("{slug}", quote(slug, safe=""))

    def close(self) -> None:
        """Close the HTTP session this client created."""
        self.client.close()
