"""Every error the SDK raises.

The hierarchy (a category per HTTP status family, a leaf per contract error code)::

    KliqsError
    ├── KliqsConnectionError ............ network failure or timeout (wraps requests' error)
    ├── UnexpectedResponseError ......... a body that is not the contract's envelope
    ├── AuthenticationError ............. 401
    │   ├── UnauthorizedError ........... UNAUTHORIZED
    │   ├── InvalidApiKeyError .......... INVALID_API_KEY
    │   └── RevokedApiKeyError .......... REVOKED_API_KEY
    ├── InvalidRequestError ............. 400, 404, 405, 413, 422 and other 4xx
    │   ├── ValidationError ............. VALIDATION_ERROR
    │   ├── InvalidUrlError ............. INVALID_URL
    │   ├── InvalidSlugError ............ INVALID_SLUG
    │   ├── ReservedSlugError ........... RESERVED_SLUG
    │   ├── InvalidExpiresAtError ....... INVALID_EXPIRES_AT
    │   ├── PayloadTooLargeError ........ PAYLOAD_TOO_LARGE
    │   ├── IdempotencyKeyReusedError ... IDEMPOTENCY_KEY_REUSED
    │   ├── NotFoundError ............... NOT_FOUND
    │   └── MethodNotAllowedError ....... METHOD_NOT_ALLOWED
    ├── QuotaError ...................... 403; a plan limit, waiting a moment does not help
    │   ├── ShortlinkLimitReachedError .. SHORTLINK_LIMIT_REACHED
    │   └── ApiLimitReachedError ........ API_LIMIT_REACHED (429, until the monthly reset)
    ├── RateLimitError .................. 429; a short burst limit
    │   └── RateLimitedError ............ RATE_LIMITED
    ├── ConflictError ................... 409
    │   └── SlugAlreadyExistsError ...... SLUG_ALREADY_EXISTS
    └── ServerError ..................... 5xx
        └── InternalError ............... INTERNAL_ERROR

A response's ``error`` code picks its leaf through a cached code -> class map; a code this
SDK does not know yet falls back to the category of the HTTP status, so callers catching a
category keep working when the server adds codes.
"""

from __future__ import annotations

import functools
from collections.abc import Iterator, Mapping
from datetime import datetime
from typing import Any, ClassVar

from requests.structures import CaseInsensitiveDict

from kliqs_core._time import from_unix, parse_retry_after, utc_after

__all__ = [
    "ApiLimitReachedError",
    "AuthenticationError",
    "ConflictError",
    "IdempotencyKeyReusedError",
    "InternalError",
    "InvalidApiKeyError",
    "InvalidExpiresAtError",
    "InvalidRequestError",
    "InvalidSlugError",
    "InvalidUrlError",
    "KliqsConnectionError",
    "KliqsError",
    "MethodNotAllowedError",
    "NotFoundError",
    "PayloadTooLargeError",
    "QuotaError",
    "RateLimitError",
    "RateLimitedError",
    "ReservedSlugError",
    "RevokedApiKeyError",
    "ServerError",
    "ShortlinkLimitReachedError",
    "SlugAlreadyExistsError",
    "UnauthorizedError",
    "UnexpectedResponseError",
    "ValidationError",
    "error_class_for_code",
    "error_class_for_status",
    "error_from_response",
]


class KliqsError(Exception):
    """Base of every SDK error: the HTTP ``status``, contract ``code``, ``message``, ``request_id``.

    ``status`` and ``code`` are ``None`` when no response was received; ``headers`` holds the
    response headers, looked up case-insensitively (empty without a response).
    """

    #: The contract code a leaf class stands for (``None`` on categories).
    error_code: ClassVar[str | None] = None
    #: The HTTP status the server always answers that code with.
    http_status: ClassVar[int | None] = None

    def __init__(
        self,
        status: int | None,
        code: str | None,
        message: str,
        request_id: str | None = None,
        *,
        headers: Mapping[str, str] | None = None,
    ) -> None:
        super().__init__(message)
        self.status = status
        self.code = code
        self.message = message
        self.request_id = request_id
        # Case-insensitive like requests' own: servers may send "retry-after" or "Retry-After".
        self.headers: CaseInsensitiveDict[str] = CaseInsensitiveDict(headers or {})

    def __str__(self) -> str:
        label = " ".join(str(part) for part in (self.code, self.status) if part is not None)
        text = f"{label}: {self.message}" if label else self.message
        return f"{text} (request id {self.request_id})" if self.request_id else text

    def __repr__(self) -> str:
        return (
            f"{type(self).__name__}(status={self.status!r}, code={self.code!r}, "
            f"message={self.message!r}, request_id={self.request_id!r})"
        )

    def __reduce__(self) -> tuple[Any, ...]:
        # Rebuild from the attributes, not from ``args``, so pickling (Celery, multiprocessing)
        # works for every subclass whatever its constructor looks like.
        return (_rebuild, (type(self), self.message), self.__dict__)


def _rebuild(cls: type[KliqsError], message: str) -> KliqsError:
    error = cls.__new__(cls)
    Exception.__init__(error, message)
    return error


class KliqsConnectionError(KliqsError):
    """The API could not be reached or did not answer in time (after the retries).

    The ``requests`` exception is chained as ``__cause__``; ``code`` is ``"CONNECTION_ERROR"``.
    """

    def __init__(self, message: str) -> None:
        super().__init__(None, "CONNECTION_ERROR", message)


class UnexpectedResponseError(KliqsError):
    """A response that is not the contract's envelope (a proxy page, a truncated body...)."""

    def __init__(
        self,
        status: int | None,
        message: str,
        request_id: str | None = None,
        *,
        headers: Mapping[str, str] | None = None,
    ) -> None:
        super().__init__(status, "UNEXPECTED_RESPONSE", message, request_id, headers=headers)


class AuthenticationError(KliqsError):
    """401: the API key is missing, malformed, unknown or revoked."""


class UnauthorizedError(AuthenticationError):
    """No ``Authorization`` header, or not the Bearer scheme."""

    error_code = "UNAUTHORIZED"
    http_status = 401


class InvalidApiKeyError(AuthenticationError):
    """The key is unknown or malformed."""

    error_code = "INVALID_API_KEY"
    http_status = 401


class RevokedApiKeyError(AuthenticationError):
    """The key was revoked in the dashboard."""

    error_code = "REVOKED_API_KEY"
    http_status = 401


class InvalidRequestError(KliqsError):
    """4xx: the request itself is wrong; repeating it unchanged fails again."""


class ValidationError(InvalidRequestError):
    """The body is not a JSON object, or a field has the wrong type or length."""

    error_code = "VALIDATION_ERROR"
    http_status = 400


class InvalidUrlError(InvalidRequestError):
    """The destination ``url`` breaks its rule."""

    error_code = "INVALID_URL"
    http_status = 400


class InvalidSlugError(InvalidRequestError):
    """The ``slug`` breaks its format (3-64 of ``A-Z a-z 0-9 - _``)."""

    error_code = "INVALID_SLUG"
    http_status = 400


class ReservedSlugError(InvalidRequestError):
    """The ``slug`` is on the reserved list."""

    error_code = "RESERVED_SLUG"
    http_status = 400


class InvalidExpiresAtError(InvalidRequestError):
    """``expires_at`` is not a datetime or not in the future."""

    error_code = "INVALID_EXPIRES_AT"
    http_status = 400


class PayloadTooLargeError(InvalidRequestError):
    """The request body is over the server's size limit."""

    error_code = "PAYLOAD_TOO_LARGE"
    http_status = 413


class IdempotencyKeyReusedError(InvalidRequestError):
    """The ``Idempotency-Key`` was already used with a different body."""

    error_code = "IDEMPOTENCY_KEY_REUSED"
    http_status = 422


class NotFoundError(InvalidRequestError):
    """No such link (or route)."""

    error_code = "NOT_FOUND"
    http_status = 404


class MethodNotAllowedError(InvalidRequestError):
    """The route does not accept this HTTP method."""

    error_code = "METHOD_NOT_ALLOWED"
    http_status = 405


class QuotaError(KliqsError):
    """A plan limit is used up; only time (the monthly reset) or a bigger plan helps."""


class ShortlinkLimitReachedError(QuotaError):
    """The account holds its plan's maximum number of links."""

    error_code = "SHORTLINK_LIMIT_REACHED"
    http_status = 403


class ApiLimitReachedError(QuotaError):
    """The monthly request limit is used up; never retried automatically.

    ``retry_after`` is the seconds until the reset (``Retry-After``); ``resets_at`` the aware
    UTC datetime of the reset (``X-RateLimit-Reset``, else now + ``Retry-After``), or ``None``.
    """

    error_code = "API_LIMIT_REACHED"
    http_status = 429

    def __init__(
        self,
        status: int | None,
        code: str | None,
        message: str,
        request_id: str | None = None,
        *,
        headers: Mapping[str, str] | None = None,
    ) -> None:
        super().__init__(status, code, message, request_id, headers=headers)
        self.retry_after = _header_retry_after(self.headers)
        self.resets_at = _resets_at(self.headers, self.retry_after)


class RateLimitError(KliqsError):
    """429: too many requests in a short time; ``retry_after`` seconds (or ``None``) to wait."""

    def __init__(
        self,
        status: int | None,
        code: str | None,
        message: str,
        request_id: str | None = None,
        *,
        headers: Mapping[str, str] | None = None,
    ) -> None:
        super().__init__(status, code, message, request_id, headers=headers)
        self.retry_after = _header_retry_after(self.headers)


class RateLimitedError(RateLimitError):
    """The per-key burst limit; retried automatically after ``Retry-After``."""

    error_code = "RATE_LIMITED"
    http_status = 429


class ConflictError(KliqsError):
    """409: the request conflicts with existing state."""


class SlugAlreadyExistsError(ConflictError):
    """A link or a Bio Page already uses the slug; see ``create_link_with_unique_slug``."""

    error_code = "SLUG_ALREADY_EXISTS"
    http_status = 409


class ServerError(KliqsError):
    """5xx: the server failed; retried automatically with backoff."""


class InternalError(ServerError):
    """Something unexpected on the server (logged there under the request id)."""

    error_code = "INTERNAL_ERROR"
    http_status = 500


def _header_retry_after(headers: Mapping[str, str]) -> float | None:
    return parse_retry_after(_header(headers, "Retry-After"))


def _resets_at(headers: Mapping[str, str], retry_after: float | None) -> datetime | None:
    reset = _header(headers, "X-RateLimit-Reset")
    parsed = from_unix(reset) if reset is not None else None
    if parsed is None and retry_after is not None:
        parsed = utc_after(retry_after)
    return parsed


def _header(headers: Mapping[str, str], name: str) -> str | None:
    # The headers may be a plain dict (pickled, hand-made): look the name up case-insensitively.
    wanted = name.lower()
    return next((value for key, value in headers.items() if key.lower() == wanted), None)


def _subclasses(cls: type[KliqsError]) -> Iterator[type[KliqsError]]:
    for sub in cls.__subclasses__():
        yield sub
        yield from _subclasses(sub)


@functools.cache
def _classes_by_code() -> dict[str, type[KliqsError]]:
    return {cls.error_code: cls for cls in _subclasses(KliqsError) if cls.error_code is not None}


def error_class_for_code(code: str) -> type[KliqsError] | None:
    """The leaf class of a contract error code, or ``None`` for a code this SDK does not know."""
    return _classes_by_code().get(code)


def error_class_for_status(status: int) -> type[KliqsError]:
    """The category class for an HTTP status, used when the code is unknown or missing."""
    if status == 401:
        return AuthenticationError
    if status == 403:
        return QuotaError
    if status == 409:
        return ConflictError
    if status == 429:
        return RateLimitError
    if status >= 500:
        return ServerError
    if 400 <= status < 500:
        return InvalidRequestError
    return KliqsError


def error_from_response(
    status: int,
    code: str | None,
    message: str,
    request_id: str | None = None,
    headers: Mapping[str, str] | None = None,
) -> KliqsError:
    """Build the error for an error response: the code's leaf class, else the status category."""
    cls = error_class_for_code(code) if code is not None else None
    if cls is None:
        cls = error_class_for_status(status)
    return cls(status, code, message, request_id, headers=headers)
