"""GraphQL machinery shared by the Shopify and Saleor integrations, plus Shopify's documents.

- :class:`DocumentSet` / :class:`GraphQLDocument`: ``.graphql`` files parsed and validated once
  against a bundled schema subset.
- :class:`GraphQLClient`: executes a document over ``requests`` and raises typed errors
  (see :mod:`.errors` for the tree), waiting out Shopify ``THROTTLED`` answers.
- :func:`load_document`: Shopify's own operations, kept in this folder.
"""

from __future__ import annotations

from pathlib import Path

from .client import GraphQLClient
from .documents import DocumentError, DocumentSet, GraphQLDocument
from .errors import (
    GraphQLClientError,
    GraphQLConnectionError,
    GraphQLHTTPError,
    GraphQLResponseError,
    GraphQLThrottledError,
    GraphQLUserError,
    UserErrorDetail,
)
from .throttle import QueryCost

#: Shopify Admin operations and the Admin schema subset they are validated against.
SHOPIFY_DOCUMENTS = DocumentSet(Path(__file__).parent)


def load_document(name: str) -> GraphQLDocument:
    """Return the Shopify operation ``name`` (parsed and validated once, then cached)."""
    return SHOPIFY_DOCUMENTS.load(name)


__all__ = [
    "SHOPIFY_DOCUMENTS",
    "DocumentError",
    "DocumentSet",
    "GraphQLClient",
    "GraphQLClientError",
    "GraphQLConnectionError",
    "GraphQLDocument",
    "GraphQLHTTPError",
    "GraphQLResponseError",
    "GraphQLThrottledError",
    "GraphQLUserError",
    "QueryCost",
    "UserErrorDetail",
    "load_document",
]
