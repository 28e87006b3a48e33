"""The product as WooCommerce's REST v3 (and its webhooks) return it, parsed into a frozen dataclass."""

from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import datetime, timezone
from typing import Any

from integrations.woocommerce.errors import MalformedPayload

__all__ = [
    "SHORT_URL_META_KEY",
    "WooProduct",
    "is_our_echo",
    "parse_product",
    "product_from_dict",
    "should_shorten",
]

# No leading underscore: WooCommerce treats `_` meta keys as protected/internal.
SHORT_URL_META_KEY = "kliqs_short_url"


@dataclass(frozen=True)
class WooProduct:
    """The product fields the connector uses; `meta` maps meta_data keys to their values."""

    id: int
    name: str
    slug: str
    permalink: str
    status: str
    type: str
    date_modified_gmt: datetime | None
    meta: dict[str, Any] = field(default_factory=dict, hash=False)

    @property
    def short_url(self) -> str | None:
        """The Kliqs short URL the connector wrote back, if any."""
        value = self.meta.get(SHORT_URL_META_KEY)
        return value if isinstance(value, str) and value else None


def parse_product(raw_body: bytes | str) -> WooProduct:
    """Parse a product webhook body or REST answer; raise `MalformedPayload` if unusable."""
    try:
        data = json.loads(raw_body)
    except (ValueError, TypeError) as exc:  # JSONDecodeError and UnicodeDecodeError are ValueErrors
        raise MalformedPayload(f"product body is not valid JSON: {exc}") from exc
    return product_from_dict(data)


def product_from_dict(data: object) -> WooProduct:
    """Build a `WooProduct` from decoded product JSON; raise `MalformedPayload` on a wrong shape."""
    if not isinstance(data, Mapping):
        raise MalformedPayload(f"product must be a JSON object, got {type(data).__name__}")
    product_id = data.get("id")
    # bool is an int in Python, but never a valid id.
    if not isinstance(product_id, int) or isinstance(product_id, bool) or product_id <= 0:
        raise MalformedPayload(f"product 'id' must be a positive integer, got {product_id!r}")
    return WooProduct(
        id=product_id,
        name=_string(data, "name"),
        slug=_string(data, "slug"),
        permalink=_string(data, "permalink"),
        status=_string(data, "status"),
        type=_string(data, "type"),
        date_modified_gmt=_gmt_datetime(data.get("date_modified_gmt")),
        meta=_meta(data.get("meta_data", [])),
    )


def should_shorten(product: WooProduct) -> bool:
    """True for a published product that still needs a short link.

    Drafts, pending, private and scheduled products wait for their publishing update webhook;
    variations are skipped (their parent product is the page a buyer opens); a product that
    already carries our short URL is done (see `is_our_echo`).
    """
    return (
        product.status == "publish"
        and product.type != "variation"
        and bool(product.permalink)
        and not is_our_echo(product)
    )


def is_our_echo(product: WooProduct) -> bool:
    """True when the product already carries `kliqs_short_url`.

    Our own write-back (PUT meta_data) makes WooCommerce deliver `product.updated`; this is how
    that delivery is recognised and ignored instead of looping.
    """
    return product.short_url is not None


def _string(data: Mapping[str, Any], key: str) -> str:
    value = data.get(key)
    if not isinstance(value, str):
        raise MalformedPayload(f"product {key!r} must be a string, got {value!r}")
    return value


def _gmt_datetime(value: object) -> datetime | None:
    """WooCommerce sends GMT dates as ISO 8601 without an offset (`2024-05-01T03:04:05`)."""
    if value is None:
        return None
    if not isinstance(value, str):
        raise MalformedPayload(f"product 'date_modified_gmt' must be a string, got {value!r}")
    try:
        parsed = datetime.fromisoformat(value)
    except ValueError as exc:
        raise MalformedPayload(f"product 'date_modified_gmt' is not a date: {value!r}") from exc
    if parsed.tzinfo is None:
        return parsed.replace(tzinfo=timezone.utc)
    return parsed.astimezone(timezone.utc)


def _meta(value: object) -> dict[str, Any]:
    """Map meta_data rows to key -> value; the first row of a repeated key wins, like get_meta()."""
    if not isinstance(value, list):
        raise MalformedPayload(f"product 'meta_data' must be a list, got {type(value).__name__}")
    meta: dict[str, Any] = {}
    for row in value:
        if not isinstance(row, Mapping) or not isinstance(row.get("key"), str):
            raise MalformedPayload(f"product meta_data row must have a string 'key', got {row!r}")
        meta.setdefault(row["key"], row.get("value"))
    return meta
