"""Errors raised by the WooCommerce integration.

The whole hierarchy::

    MalformedPayload                 a webhook body or product JSON we cannot use (ValueError)
    WooCommerceError                 anything that went wrong talking to the shop's REST API
    ├── WooConnectionError           no HTTP answer (DNS, refused, timeout, TLS); wraps requests
    └── WooHTTPError                 the shop answered with an error status
        ├── WooAuthError             401 / 403: bad keys or missing permission       permanent
        ├── WooNotFoundError         404: no such product                            permanent
        ├── WooRateLimitError        429                                             transient
        ├── WooServerError           5xx                                             transient
        ├── WooClientError           any other 4xx, and 3xx (redirects not followed) permanent
        └── WooInvalidResponseError  2xx whose body is not the JSON we asked for     permanent

Every `WooCommerceError` carries `is_transient`: true when the same call may succeed later (the
connector runtime retries it with backoff), false when retrying cannot help (fail visibly).
"""

from __future__ import annotations

__all__ = [
    "MalformedPayload",
    "WooAuthError",
    "WooClientError",
    "WooCommerceError",
    "WooConnectionError",
    "WooHTTPError",
    "WooInvalidResponseError",
    "WooNotFoundError",
    "WooRateLimitError",
    "WooServerError",
]


class MalformedPayload(ValueError):
    """A webhook body or product JSON that is not valid JSON or not in WooCommerce's shape."""


class WooCommerceError(Exception):
    """Base class of errors from the WooCommerce REST API client.

    `status` is the HTTP status (None without an answer), `code` WooCommerce's error code
    (e.g. ``woocommerce_rest_product_invalid_id``) when the body carried one.
    """

    is_transient: bool = False

    def __init__(
        self, message: str, *, status: int | None = None, code: str | None = None
    ) -> None:
        super().__init__(message)
        self.message = message
        self.status = status
        self.code = code

    def __str__(self) -> str:
        parts = [str(self.status)] if self.status is not None else []
        if self.code:
            parts.append(self.code)
        prefix = " ".join(parts)
        return f"{prefix}: {self.message}" if prefix else self.message


class WooConnectionError(WooCommerceError):
    """No HTTP answer from the shop; the `requests` exception is chained as ``__cause__``.

    Timeouts and refused or dropped connections are transient; TLS failures and invalid URLs are
    configuration errors and permanent.
    """

    def __init__(self, message: str, *, is_transient: bool = True) -> None:
        super().__init__(message)
        self.is_transient = is_transient


class WooHTTPError(WooCommerceError):
    """The shop answered with a status we treat as an error."""


class WooAuthError(WooHTTPError):
    """401 or 403: the consumer key is wrong or lacks read/write permission."""


class WooNotFoundError(WooHTTPError):
    """404: the product (or the REST route) does not exist."""


class WooRateLimitError(WooHTTPError):
    """429 from the shop or a proxy in front of it; `retry_after` is in seconds when given."""

    is_transient = True

    def __init__(
        self,
        message: str,
        *,
        status: int | None = None,
        code: str | None = None,
        retry_after: float | None = None,
    ) -> None:
        super().__init__(message, status=status, code=code)
        self.retry_after = retry_after


class WooServerError(WooHTTPError):
    """5xx: WordPress failed (fatal error, maintenance mode, gateway); retry later."""

    is_transient = True


class WooClientError(WooHTTPError):
    """Any other 4xx (e.g. 400 ``rest_invalid_param``) or an unfollowed 3xx redirect."""


class WooInvalidResponseError(WooHTTPError):
    """A 2xx whose body is not the expected JSON (e.g. plain permalinks serve HTML)."""
