"""The flat public surface is deliberate: adding or removing a name must be a visible change."""

from __future__ import annotations

from pathlib import Path

import kliqs_core

EXPECTED = {
    "DEFAULT_BASE_URL", "UNSET", "__version__",
    # client and settings
    "KliqsClient", "RetryPolicy",
    # payloads
    "Account", "ApiKeyInfo", "ClickCount", "DailyClicks", "Link", "LinkPage", "LinkStats", "Me",
    "Usage",
    # errors: base, transport, categories
    "KliqsError", "KliqsConnectionError", "UnexpectedResponseError", "AuthenticationError",
    "InvalidRequestError", "QuotaError", "RateLimitError", "ConflictError", "ServerError",
    # errors: one per contract code
    "UnauthorizedError", "InvalidApiKeyError", "RevokedApiKeyError", "ValidationError",
    "InvalidUrlError", "InvalidSlugError", "ReservedSlugError", "InvalidExpiresAtError",
    "PayloadTooLargeError", "IdempotencyKeyReusedError", "NotFoundError", "MethodNotAllowedError",
    "ShortlinkLimitReachedError", "ApiLimitReachedError", "RateLimitedError",
    "SlugAlreadyExistsError", "InternalError",
    # helpers
    "format_product_message", "slugify", "with_suffix", "is_valid_slug",
}


def test_all_lists_exactly_the_public_names() -> None:
    assert set(kliqs_core.__all__) == EXPECTED
    assert len(kliqs_core.__all__) == len(EXPECTED)  # no duplicates


def test_every_exported_name_exists() -> None:
    missing = [name for name in kliqs_core.__all__ if not hasattr(kliqs_core, name)]

    assert missing == []


def test_the_package_is_marked_typed() -> None:
    assert (Path(kliqs_core.__file__).parent / "py.typed").is_file()
