"""Shopify for the Kliqs connector (``KLIQS_CONNECTOR_PLUGINS=shopify``).

- :mod:`.webhooks`: HMAC check on the raw body, delivery headers, product payloads (pure);
- :mod:`.api`: the Admin GraphQL client (read a product's URL, write ``kliqs.short_url``);
- :mod:`.handler`: ``POST /webhooks/shopify`` on the connector runtime's inbox;
- :mod:`.platform`: product URL and write-back steps run by the worker;
- :mod:`.plugin`: :func:`setup`, what the runtime calls in every process;
- :mod:`.sync` and :mod:`.cli`: ``kliqs shopify sync``, the catch-up of lost webhooks.

The shared GraphQL machinery (documents, client, typed errors) lives in
:mod:`integrations.shopify.graphql` and is reused by :mod:`integrations.saleor`.
"""

from __future__ import annotations


def setup() -> None:
    """The connector plug-in entry point: check ``SHOPIFY_*``, register platform and route."""
    # Imported here so that the pure pieces (webhooks, api) do not pull in the runtime.
    from .plugin import setup as setup_plugin

    setup_plugin()
