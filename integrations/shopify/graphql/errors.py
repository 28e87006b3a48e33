"""Exceptions raised by :class:`GraphQLClient`.

The whole hierarchy::

    GraphQLClientError                 base; every error says ``is_transient``
    ├── GraphQLHTTPError               the HTTP exchange failed (status, body)
    │   └── GraphQLConnectionError     no response at all (DNS, refused, timeout)
    ├── GraphQLResponseError           top-level ``errors`` in the response
    │   └── GraphQLThrottledError      Shopify ``THROTTLED`` even after the bounded waits
    └── GraphQLUserError               mutation ``userErrors`` (Shopify) / ``errors`` (Saleor)

``is_transient`` tells a worker whether trying again later can succeed: connection errors,
5xx, 429, throttling and ``INTERNAL_SERVER_ERROR`` are transient; everything else
(bad token, missing scope, invalid input) is permanent.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

# Top-level error codes (``errors[].extensions.code``) that can succeed on a later try.
TRANSIENT_ERROR_CODES = frozenset({"THROTTLED", "INTERNAL_SERVER_ERROR"})


class GraphQLClientError(Exception):
    """Base of every error raised by the GraphQL client."""

    is_transient: bool = False

    def __init__(self, message: str, *, operation: str | None = None) -> None:
        super().__init__(message)
        self.message = message
        self.operation = operation


class GraphQLHTTPError(GraphQLClientError):
    """The server answered with a non-2xx status or a body that is not GraphQL JSON."""

    def __init__(
        self,
        message: str,
        *,
        status: int | None,
        body: str = "",
        operation: str | None = None,
    ) -> None:
        super().__init__(message, operation=operation)
        self.status = status
        self.body = body
        self.is_transient = status is not None and (status >= 500 or status == 429)


class GraphQLConnectionError(GraphQLHTTPError):
    """No HTTP response: connection refused, DNS failure, timeout. Always transient."""

    def __init__(self, message: str, *, operation: str | None = None) -> None:
        super().__init__(message, status=None, operation=operation)
        self.is_transient = True


class GraphQLResponseError(GraphQLClientError):
    """The response carried top-level ``errors`` (syntax, access denied, internal error...)."""

    def __init__(
        self,
        message: str,
        *,
        errors: Sequence[Mapping[str, Any]],
        operation: str | None = None,
    ) -> None:
        super().__init__(message, operation=operation)
        self.errors: tuple[Mapping[str, Any], ...] = tuple(errors)
        self.codes: tuple[str, ...] = tuple(_error_code(err) for err in self.errors)
        self.is_transient = bool(self.codes) and all(
            code in TRANSIENT_ERROR_CODES for code in self.codes
        )


class GraphQLThrottledError(GraphQLResponseError):
    """Shopify kept answering ``THROTTLED`` after the client's bounded waits.

    ``retry_after`` is how long the cost figures said to wait (seconds), when known: a
    worker hands it to its queue rather than sleeping that long itself.
    """

    is_transient = True

    def __init__(
        self,
        message: str,
        *,
        errors: Sequence[Mapping[str, Any]],
        operation: str | None = None,
        retry_after: float | None = None,
    ) -> None:
        super().__init__(message, errors=errors, operation=operation)
        self.is_transient = True
        self.retry_after = retry_after


@dataclass(frozen=True)
class UserErrorDetail:
    """One entry of a mutation's ``userErrors`` / ``errors`` list."""

    message: str
    field: tuple[str, ...] = ()
    code: str | None = None

    @classmethod
    def from_json(cls, raw: Mapping[str, Any]) -> UserErrorDetail:
        """Build from Shopify (``field: [String!]``) or Saleor (``field: String``) shape."""
        field = raw.get("field")
        if isinstance(field, str):
            path: tuple[str, ...] = (field,)
        elif isinstance(field, list):
            path = tuple(str(part) for part in field)
        else:
            path = ()
        code = raw.get("code")
        return cls(
            message=str(raw.get("message") or ""),
            field=path,
            code=str(code) if code is not None else None,
        )

    def __str__(self) -> str:
        where = ".".join(self.field)
        prefix = f"{where}: " if where else ""
        suffix = f" ({self.code})" if self.code else ""
        return f"{prefix}{self.message}{suffix}"


class GraphQLUserError(GraphQLClientError):
    """A mutation was refused for its input. Permanent: the same input fails again."""

    is_transient = False

    def __init__(
        self,
        user_errors: Sequence[UserErrorDetail],
        *,
        operation: str | None = None,
    ) -> None:
        self.user_errors: tuple[UserErrorDetail, ...] = tuple(user_errors)
        listed = "; ".join(str(err) for err in self.user_errors)
        super().__init__(f"{operation or 'mutation'} refused: {listed}", operation=operation)

    @property
    def codes(self) -> tuple[str | None, ...]:
        """The error codes, in order (``None`` where the platform gave none)."""
        return tuple(err.code for err in self.user_errors)


def _error_code(error: Mapping[str, Any]) -> str:
    extensions = error.get("extensions")
    if isinstance(extensions, Mapping):
        code = extensions.get("code")
        if code is not None:
            return str(code)
    return ""
