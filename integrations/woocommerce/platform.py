"""The WooCommerce platform for the connector runtime: product URL and write-back.

The runtime calls `product_url` when it shortens a stored product and `write_back` once the
short link exists. WooCommerce's typed errors become the runtime's two kinds: transient ones
(timeouts, 5xx, 429) are retried with backoff, the others fail the product with a code.
"""

from __future__ import annotations

from integrations.woocommerce.api import WooCommerceClient
from integrations.woocommerce.errors import (
    WooAuthError,
    WooClientError,
    WooCommerceError,
    WooConnectionError,
    WooInvalidResponseError,
    WooNotFoundError,
    WooRateLimitError,
    WooServerError,
)
from kliqs_core.connector import (
    PermanentPlatformError,
    PlatformError,
    ProductRecord,
    TransientPlatformError,
)

__all__ = ["PLATFORM", "WooCommercePlatform", "platform_error"]

PLATFORM = "woocommerce"

# Most specific first: the first matching class names the operator-facing code.
_CODES: tuple[tuple[type[WooCommerceError], str], ...] = (
    (WooAuthError, "WOOCOMMERCE_AUTH_FAILED"),
    (WooNotFoundError, "WOOCOMMERCE_NOT_FOUND"),
    (WooRateLimitError, "WOOCOMMERCE_RATE_LIMITED"),
    (WooServerError, "WOOCOMMERCE_SERVER_ERROR"),
    (WooInvalidResponseError, "WOOCOMMERCE_INVALID_RESPONSE"),
    (WooClientError, "WOOCOMMERCE_REQUEST_REFUSED"),
    (WooConnectionError, "WOOCOMMERCE_UNREACHABLE"),
)


def platform_error(exc: WooCommerceError) -> PlatformError:
    """Map a WooCommerce client error to the runtime's transient or permanent error."""
    code = next((code for cls, code in _CODES if isinstance(exc, cls)), "WOOCOMMERCE_ERROR")
    if not exc.is_transient:
        return PermanentPlatformError(code, str(exc))
    retry_after = exc.retry_after if isinstance(exc, WooRateLimitError) else None
    return TransientPlatformError(code, str(exc), retry_after=retry_after)


class WooCommercePlatform:
    """One shop's platform object, registered under the name ``woocommerce``."""

    name = PLATFORM

    def __init__(self, client: WooCommerceClient) -> None:
        self._client = client

    def product_url(self, product: ProductRecord) -> str:
        """The product's ``permalink``, as the webhook (or the reconciliation poll) gave it."""
        url = product.product_url or product.data.get("permalink")
        if not isinstance(url, str) or not url:
            raise PermanentPlatformError(
                "WOOCOMMERCE_NO_PERMALINK", f"product {product.product_id} has no permalink"
            )
        return url

    def write_back(self, product: ProductRecord, short_url: str) -> None:
        """Store the short URL in the product's ``kliqs_short_url`` meta (an upsert by key).

        The PUT is idempotent, but each one makes WooCommerce fire another ``product.updated``.
        So a run that may repeat an earlier one (a retry, or a product the sweeper picked up
        after a crash) first reads the product and skips the PUT if the value is already there.
        """
        product_id = _numeric_id(product)
        try:
            if _may_repeat(product) and self._client.get_product(product_id).short_url == short_url:
                return
            self._client.set_short_url(product_id, short_url)
        except WooCommerceError as exc:
            raise platform_error(exc) from exc


def _may_repeat(product: ProductRecord) -> bool:
    # attempts > 0: an earlier write-back failed (a timeout may still have been applied);
    # sweep_count > 0: the sweeper re-queued the product, so a run may have died mid-step.
    return product.attempts > 0 or product.sweep_count > 0


def _numeric_id(product: ProductRecord) -> int:
    try:
        return int(product.product_id)
    except ValueError:
        raise PermanentPlatformError(
            "WOOCOMMERCE_BAD_PRODUCT_ID", f"product id {product.product_id!r} is not a number"
        ) from None
