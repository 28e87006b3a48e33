"""Kliqs Python SDK: a typed client of the Kliqs shortlink API, and what the integrations share.

    from kliqs_core import KliqsClient, SlugAlreadyExistsError

    with KliqsClient.from_env() as kliqs:
        link = kliqs.create_link("https://marketku.id/products/42", title="VPS Murah")
        print(link.short_url)
"""

from __future__ import annotations

from kliqs_core._retry import RetryPolicy
from kliqs_core._version import __version__
from kliqs_core.client import DEFAULT_BASE_URL, UNSET, KliqsClient
from kliqs_core.errors import (
    ApiLimitReachedError,
    AuthenticationError,
    ConflictError,
    IdempotencyKeyReusedError,
    InternalError,
    InvalidApiKeyError,
    InvalidExpiresAtError,
    InvalidRequestError,
    InvalidSlugError,
    InvalidUrlError,
    KliqsConnectionError,
    KliqsError,
    MethodNotAllowedError,
    NotFoundError,
    PayloadTooLargeError,
    QuotaError,
    RateLimitedError,
    RateLimitError,
    ReservedSlugError,
    RevokedApiKeyError,
    ServerError,
    ShortlinkLimitReachedError,
    SlugAlreadyExistsError,
    UnauthorizedError,
    UnexpectedResponseError,
    ValidationError,
)
from kliqs_core.messages import format_product_message
from kliqs_core.models import (
    Account,
    ApiKeyInfo,
    ClickCount,
    DailyClicks,
    Link,
    LinkPage,
    LinkStats,
    Me,
    Usage,
)
from kliqs_core.slugs import is_valid_slug, slugify, with_suffix

__all__ = [
    "DEFAULT_BASE_URL",
    "UNSET",
    "Account",
    "ApiKeyInfo",
    "ApiLimitReachedError",
    "AuthenticationError",
    "ClickCount",
    "ConflictError",
    "DailyClicks",
    "IdempotencyKeyReusedError",
    "InternalError",
    "InvalidApiKeyError",
    "InvalidExpiresAtError",
    "InvalidRequestError",
    "InvalidSlugError",
    "InvalidUrlError",
    "KliqsClient",
    "KliqsConnectionError",
    "KliqsError",
    "Link",
    "LinkPage",
    "LinkStats",
    "Me",
    "MethodNotAllowedError",
    "NotFoundError",
    "PayloadTooLargeError",
    "QuotaError",
    "RateLimitError",
    "RateLimitedError",
    "ReservedSlugError",
    "RetryPolicy",
    "RevokedApiKeyError",
    "ServerError",
    "ShortlinkLimitReachedError",
    "SlugAlreadyExistsError",
    "UnauthorizedError",
    "UnexpectedResponseError",
    "Usage",
    "ValidationError",
    "__version__",
    "format_product_message",
    "is_valid_slug",
    "slugify",
    "with_suffix",
]
