"""Saleor's GraphQL operations, validated against a bundled Saleor schema subset.

Reuses the document machinery of :mod:`integrations.shopify.graphql`.
"""

from __future__ import annotations

from pathlib import Path

from integrations.shopify.graphql import DocumentSet, GraphQLDocument

#: Saleor operations and the Saleor schema subset they are validated against.
SALEOR_DOCUMENTS = DocumentSet(Path(__file__).parent)


def load_document(name: str) -> GraphQLDocument:
    """Return the Saleor operation ``name`` (parsed and validated once, then cached)."""
    return SALEOR_DOCUMENTS.load(name)


__all__ = ["SALEOR_DOCUMENTS", "load_document"]
