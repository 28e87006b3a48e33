"""Saleor for the Kliqs connector (``KLIQS_CONNECTOR_PLUGINS=saleor``).

- :mod:`.webhooks` and :mod:`.jwks`: the ``Saleor-Signature`` check (detached RS256 JWS against
  the configured JWKS, or the deprecated hex HMAC) and the product event payloads (pure);
- :mod:`.api`: the GraphQL client (``updateMetadata``);
- :mod:`.handler`: ``POST /webhooks/saleor`` on the connector runtime's inbox;
- :mod:`.platform`: product URL and write-back steps run by the worker;
- :mod:`.plugin`: :func:`setup`, what the runtime calls in every process.

The GraphQL machinery is shared with Shopify (:mod:`integrations.shopify.graphql`); Saleor's
own operations and schema subset live in :mod:`integrations.saleor.graphql`.
"""

from __future__ import annotations


def setup() -> None:
    """The connector plug-in entry point: check ``SALEOR_*``, register platform and route."""
    # Imported here so that the pure pieces (webhooks, jwks, api) do not pull in the runtime.
    from .plugin import setup as setup_plugin

    setup_plugin()
