"""WooCommerce REST v3 client over the `woocommerce` package, with typed errors.

`woocommerce.API` returns every `requests.Response` as is and never raises; `_request` turns
each answer into a parsed body or one of the errors in `integrations.woocommerce.errors`.
Authentication follows the URL scheme (the package's rule): https -> HTTP Basic,
http -> OAuth 1.0a one-legged signature in the query string.
"""

from __future__ import annotations

import http.cookiejar
import re
import threading
from collections.abc import Callable, Iterator, Mapping
from datetime import datetime, timezone
from typing import TYPE_CHECKING, Any

import requests
import woocommerce.api as woocommerce_api
from woocommerce import API

from integrations.woocommerce.errors import (
    MalformedPayload,
    WooAuthError,
    WooClientError,
    WooCommerceError,
    WooConnectionError,
    WooInvalidResponseError,
    WooNotFoundError,
    WooRateLimitError,
    WooServerError,
)
from integrations.woocommerce.models import SHORT_URL_META_KEY, WooProduct, product_from_dict
from kliqs_core.sessions import new_session

if TYPE_CHECKING:
    from integrations.woocommerce.settings import WooCommerceSettings

__all__ = ["WooCommerceClient", "error_from_response"]

API_VERSION = "wc/v3"
MAX_PER_PAGE = 100  # WooCommerce rejects per_page above 100 with rest_invalid_param

_sessions = threading.local()


def _pooled_request(method: str, url: str, **kwargs: Any) -> requests.Response:
    """``requests.request`` on a ``Session`` kept per thread.

    ``woocommerce.API`` sends every call through the module-level ``requests.request``,
    which opens a new connection each time (a TCP, and for https a TLS, handshake per
    product). The package offers no way to pass a session, so its module's ``request`` name
    is pointed here. Cookies are never kept: each call carries its own authentication.
    """
    session = getattr(_sessions, "session", None)
    if session is None:
        session = _sessions.session = new_session()
        session.cookies.set_policy(http.cookiejar.DefaultCookiePolicy(allowed_domains=[]))
    return session.request(method=method, url=url, **kwargs)


woocommerce_api.request = _pooled_request  # type: ignore[attr-defined]


class WooCommerceClient:
    """One shop's REST API: read products, write the short URL back into their meta_data.

    `api` lets tests or callers inject a ready `woocommerce.API` (or a stand-in with the same
    `get`/`put` methods); otherwise one is built from the URL and keys.
    """

    def __init__(
        self,
        url: str,
        consumer_key: str,
        consumer_secret: str,
        *,
        timeout: float = 10,
        verify_ssl: bool = True,
        api: API | None = None,
    ) -> None:
        self.url = url.rstrip("/")
        self._api = api or API(
            url=self.url,
            consumer_key=consumer_key,
            consumer_secret=consumer_secret,
            wp_api=True,
            version=API_VERSION,
            timeout=timeout,
            verify_ssl=verify_ssl,
        )

    @classmethod
    def from_settings(cls, settings: WooCommerceSettings) -> WooCommerceClient:
        """Build a client from the platform settings."""
        return cls(
            settings.url,
            settings.consumer_key.get_secret_value(),
            settings.consumer_secret.get_secret_value(),
            timeout=settings.timeout,
            verify_ssl=settings.verify_ssl,
        )

    def get_product(self, product_id: int) -> WooProduct:
        """GET products/{id}."""
        return _product(self._request("GET", f"products/{int(product_id)}"))

    def iter_products(
        self,
        *,
        status: str = "publish",
        modified_after: datetime | None = None,
        per_page: int = MAX_PER_PAGE,
        on_total: Callable[[int], None] | None = None,
    ) -> Iterator[WooProduct]:
        """Yield every product with `status` (``any`` for all), page by page, oldest id first.

        `modified_after` (timezone-aware) limits to products modified after that instant, for
        the reconciliation poll that catches webhooks WooCommerce lost (it never retries).
        Paging follows the X-WP-TotalPages header. `on_total` is called once with the
        X-WP-Total header of the first page, when the shop sends it (for progress bars).
        """
        if not 1 <= per_page <= MAX_PER_PAGE:
            raise ValueError(f"per_page must be between 1 and {MAX_PER_PAGE}, got {per_page}")
        params = _list_params(status=status, modified_after=modified_after, per_page=per_page)
        page = 1
        while True:
            response = self._send("GET", "products", params={**params, "page": page})
            items = _json(response)
            if not isinstance(items, list):
                raise WooInvalidResponseError(
                    "products list answer is not a JSON array", status=response.status_code
                )
            if page == 1 and on_total is not None and (total := _total(response)) is not None:
                on_total(total)
            yield from (_product(item) for item in items)
            if not _has_next_page(response, page, len(items), per_page):
                return
            page += 1

    def set_short_url(self, product_id: int, short_url: str) -> WooProduct:
        """PUT products/{id} with meta_data kliqs_short_url (an upsert by key) and return it.

        Raises `WooInvalidResponseError` when the answer does not carry the value, so a write
        silently dropped (e.g. by a plugin or a proxy) is not taken for success.
        """
        body = {"meta_data": [{"key": SHORT_URL_META_KEY, "value": short_url}]}
        product = _product(self._request("PUT", f"products/{int(product_id)}", data=body))
        if product.short_url != short_url:
            raise WooInvalidResponseError(
                f"product {product_id} was saved without {SHORT_URL_META_KEY}={short_url!r}",
                status=200,
            )
        return product

    def _request(
        self,
        method: str,
        endpoint: str,
        *,
        params: Mapping[str, Any] | None = None,
        data: Any = None,
    ) -> Any:
        """Send one request and return its decoded JSON body, or raise a typed error."""
        return _json(self._send(method, endpoint, params=params, data=data))

    def _send(
        self,
        method: str,
        endpoint: str,
        *,
        params: Mapping[str, Any] | None = None,
        data: Any = None,
    ) -> requests.Response:
        # A fresh dict each call: the package mutates `params` when it adds query-string auth.
        kwargs: dict[str, Any] = {"params": dict(params or {}), "allow_redirects": False}
        response: requests.Response
        try:
            if method == "GET":
                response = self._api.get(endpoint, **kwargs)
            elif method == "PUT":
                response = self._api.put(endpoint, data, **kwargs)
            else:
                raise ValueError(f"unsupported method {method}")
        except requests.RequestException as exc:
            raise _connection_error(exc) from exc
        if not 200 <= response.status_code < 300:
            raise error_from_response(response)
        return response


def error_from_response(response: requests.Response) -> WooCommerceError:
    """Map a non-2xx answer to its typed error, reading WooCommerce's {code, message, data}."""
    status = response.status_code
    code, message = _error_body(response)
    if 300 <= status < 400:
        # Redirects are not followed: requests would turn a PUT into a GET on 302 and drop
        # Basic auth across hosts. The configured URL must be the final one.
        location = response.headers.get("Location", "?")
        message = f"redirected to {location}; set WOOCOMMERCE_URL to the final shop URL"
    error_class: type[WooCommerceError]
    if status in (401, 403):
        error_class = WooAuthError
    elif status == 404:
        error_class = WooNotFoundError
    elif status == 429:
        return WooRateLimitError(
            message, status=status, code=code, retry_after=_retry_after(response)
        )
    elif status >= 500:
        error_class = WooServerError
    else:
        error_class = WooClientError
    return error_class(message, status=status, code=code)


def _error_body(response: requests.Response) -> tuple[str | None, str]:
    try:
        body = response.json()
    except ValueError:
        text = response.text.strip()[:200]
        return None, text or response.reason or f"HTTP {response.status_code}"
    if not isinstance(body, dict):
        return None, f"HTTP {response.status_code}"
    code = body.get("code") if isinstance(body.get("code"), str) else None
    message = body.get("message")
    return code, message if isinstance(message, str) and message else f"HTTP {response.status_code}"


def _retry_after(response: requests.Response) -> float | None:
    try:
        return max(0.0, float(response.headers.get("Retry-After", "")))
    except ValueError:
        return None  # an HTTP-date or garbage: let the caller's backoff decide


def _connection_error(exc: requests.RequestException) -> WooConnectionError:
    # A bad certificate or URL does not fix itself; a timeout or a refused connection may.
    permanent = (requests.exceptions.SSLError, requests.exceptions.InvalidURL,
                 requests.exceptions.MissingSchema, requests.exceptions.InvalidSchema)  # fmt: skip
    transient = isinstance(exc, (requests.ConnectionError, requests.Timeout)) and not isinstance(
        exc, permanent
    )
    return WooConnectionError(
        f"cannot reach WooCommerce: {type(exc).__name__}: {exc}", is_transient=transient
    )


def _json(response: requests.Response) -> Any:
    try:
        return response.json()
    except ValueError as exc:
        # The classic cause: "Plain" permalinks, where /wp-json/... serves the home page.
        raise WooInvalidResponseError(
            "answer is not JSON; is the REST API reachable at /wp-json/ (pretty permalinks)?",
            status=response.status_code,
        ) from exc


def _product(data: Any) -> WooProduct:
    try:
        return product_from_dict(data)
    except MalformedPayload as exc:
        raise WooInvalidResponseError(f"unexpected product JSON: {exc}", status=200) from exc


def _list_params(
    *, status: str, modified_after: datetime | None, per_page: int
) -> dict[str, Any]:
    # orderby=id keeps pages stable while products are edited during the walk.
    params: dict[str, Any] = {"per_page": per_page, "status": status, "orderby": "id", "order": "asc"}
    if modified_after is not None:
        if modified_after.tzinfo is None:
            raise ValueError("modified_after must be timezone-aware")
        utc = modified_after.astimezone(timezone.utc).replace(tzinfo=None)
        params["modified_after"] = utc.isoformat(timespec="seconds")
        params["dates_are_gmt"] = "true"
    return params


def _total(response: requests.Response) -> int | None:
    total = response.headers.get("X-WP-Total")
    if total is not None and re.fullmatch(r"\s*[0-9]+\s*", total):
        return int(total)
    return None


def _has_next_page(response: requests.Response, page: int, count: int, per_page: int) -> bool:
    total_pages = response.headers.get("X-WP-TotalPages")
    if total_pages is not None and re.fullmatch(r"\s*[0-9]+\s*", total_pages):
        return page < int(total_pages)
    return count == per_page  # header stripped by a proxy: stop at the first short page
