"""GraphQL client errors turned into the connector runtime's two platform error types.

The runtime retries a :class:`~kliqs_core.connector.TransientPlatformError` with backoff (at
least its ``retry_after``) and fails the product with a :class:`PermanentPlatformError`'s
code and message, which ``kliqs connect status`` shows. The codes carry the platform's
prefix (``SHOPIFY_THROTTLED``, ``SALEOR_USER_ERROR``...) so an operator sees where it broke:

=======================================  ==================================  ==========
client error                             code                                kind
=======================================  ==================================  ==========
:class:`GraphQLThrottledError`           ``<P>_THROTTLED``                   transient
:class:`GraphQLUserError`                ``<P>_USER_ERROR`` (message lists)  permanent
:class:`GraphQLConnectionError`          ``<P>_UNREACHABLE``                 transient
:class:`GraphQLHTTPError` 401 / 403      ``<P>_UNAUTHORIZED`` / ``_FORBIDDEN`` permanent
:class:`GraphQLHTTPError` 5xx, 429       ``<P>_HTTP_<status>``               transient
:class:`GraphQLHTTPError` other          ``<P>_HTTP_<status>``               permanent
:class:`GraphQLResponseError`            ``<P>_<extensions.code>``           by code
=======================================  ==================================  ==========
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from contextlib import contextmanager

from kliqs_core.connector import PermanentPlatformError, PlatformError, TransientPlatformError

from .errors import (
    GraphQLClientError,
    GraphQLConnectionError,
    GraphQLHTTPError,
    GraphQLResponseError,
    GraphQLThrottledError,
    GraphQLUserError,
)

__all__ = ["platform_error", "raising_platform_errors"]

_HTTP_NAMES = {401: "UNAUTHORIZED", 403: "FORBIDDEN", 404: "NOT_FOUND"}
_CODE_MAX = 64  # the connector's error code column
_NOT_CODE = re.compile(r"[^A-Z0-9_]+")


def platform_error(exc: GraphQLClientError, *, platform: str) -> PlatformError:
    """The runtime error for ``exc``: transient or permanent, with a prefixed code."""
    prefix = platform.upper()
    if isinstance(exc, GraphQLThrottledError):
        return TransientPlatformError(
            f"{prefix}_THROTTLED", exc.message, retry_after=exc.retry_after
        )
    if isinstance(exc, GraphQLUserError):
        return PermanentPlatformError(f"{prefix}_USER_ERROR", exc.message)
    if isinstance(exc, GraphQLConnectionError):
        return TransientPlatformError(f"{prefix}_UNREACHABLE", exc.message)
    code = f"{prefix}_GRAPHQL_ERROR"
    if isinstance(exc, GraphQLHTTPError):
        status = exc.status
        code = f"{prefix}_{_HTTP_NAMES.get(status or 0) or f'HTTP_{status or 0}'}"
    elif isinstance(exc, GraphQLResponseError) and exc.codes and exc.codes[0]:
        code = f"{prefix}_{_NOT_CODE.sub('_', exc.codes[0].upper())}"
    kind = TransientPlatformError if exc.is_transient else PermanentPlatformError
    return kind(code[:_CODE_MAX], exc.message)


@contextmanager
def raising_platform_errors(platform: str) -> Iterator[None]:
    """Re-raise any :class:`GraphQLClientError` inside as :func:`platform_error` of it."""
    try:
        yield
    except GraphQLClientError as exc:
        raise platform_error(exc, platform=platform) from exc
