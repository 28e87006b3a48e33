"""Saleor webhooks: signature check on the raw body, delivery headers, product payloads.

Saleor signs every delivery in ``Saleor-Signature``:

- by default a detached compact JWS, ``header..signature``, RS256 over the **raw body**
  (RFC 7797, protected header ``{"alg":"RS256","b64":false,"crit":["b64"],"kid":"1",...}``),
  checked against the keys of the configured JWKS (:class:`~.jwks.JwksCache`);
- when the webhook was given a ``secret_key`` (deprecated), the hex HMAC-SHA256 of the body.
  That mode is accepted only when ``SALEOR_WEBHOOK_SECRET`` is configured.
"""

from __future__ import annotations

import hashlib
import hmac
import json
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime
from typing import Any

import jwt
from jwt import api_jws

from .jwks import JwksCache
from .settings import SaleorSettings, get_settings

EVENT_HEADER = "Saleor-Event"
DOMAIN_HEADER = "Saleor-Domain"
SIGNATURE_HEADER = "Saleor-Signature"
API_URL_HEADER = "Saleor-Api-Url"
_DEPRECATED_PREFIX = "X-"  # X-Saleor-Event etc., "will be deprecated in Saleor 4.0"

#: Events (the ``Saleor-Event`` value) that can make a product need a short link.
PRODUCT_EVENTS = frozenset({"product_created", "product_updated"})
SHORT_URL_METADATA_KEY = "kliqs_short_url"
JWS_ALGORITHM = "RS256"


class MalformedPayload(ValueError):
    """A webhook body or its headers are not what Saleor sends for a product event."""


def _header(headers: Mapping[str, str], name: str) -> str | None:
    lowered = {key.lower(): value for key, value in headers.items()}
    value = lowered.get(name.lower()) or lowered.get((_DEPRECATED_PREFIX + name).lower())
    return value.strip() if value and value.strip() else None


def signature_from_headers(headers: Mapping[str, str]) -> str | None:
    """``Saleor-Signature`` (or the deprecated ``X-Saleor-Signature``), if present."""
    return _header(headers, SIGNATURE_HEADER)


def verify_jws(raw_body: bytes, signature: str | None, jwks: JwksCache) -> bool:
    """True when ``signature`` is a valid detached RS256 JWS of ``raw_body`` by a JWKS key.

    Raises :class:`~.jwks.JwksUnavailable` when the keys cannot be fetched (answer 503 so
    that Saleor retries, rather than 401 which it would not).
    """
    if not signature:
        return False
    segments = signature.split(".")
    if len(segments) != 3 or segments[1] != "":
        return False  # Saleor always detaches the payload: header..signature
    try:
        header = jwt.get_unverified_header(signature)
    except jwt.PyJWTError:
        return False
    kid = header.get("kid")
    if header.get("alg") != JWS_ALGORITHM or not isinstance(kid, str):
        return False
    key = jwks.get_key(kid)
    if key is None:
        return False
    try:
        api_jws.decode_complete(
            signature, key=key, algorithms=[JWS_ALGORITHM], detached_payload=raw_body
        )
    except jwt.PyJWTError:
        return False
    return True


def verify_legacy_hmac(raw_body: bytes, signature: str | None, secret: str) -> bool:
    """True when ``signature`` is the hex HMAC-SHA256 of ``raw_body`` (deprecated mode)."""
    if not signature or not secret:
        return False
    expected = hmac.new(secret.encode("utf-8"), raw_body, hashlib.sha256).hexdigest()
    return hmac.compare_digest(expected.encode("ascii"), signature.strip().lower().encode())


def verify_signature(
    raw_body: bytes,
    signature: str | None,
    *,
    jwks: JwksCache | None,
    legacy_secret: str | None = None,
) -> bool:
    """Check ``Saleor-Signature`` in whichever form it comes: JWS, or hex HMAC if configured."""
    if not signature:
        return False
    if "." in signature:
        return jwks is not None and verify_jws(raw_body, signature, jwks)
    if legacy_secret:
        return verify_legacy_hmac(raw_body, signature, legacy_secret)
    return False


@dataclass(frozen=True)
class SaleorSignatureVerifier:
    """:func:`verify_signature` bound to the configured JWKS and optional legacy secret."""

    jwks: JwksCache | None
    legacy_secret: str | None = None

    @classmethod
    def from_settings(cls, settings: SaleorSettings | None = None) -> SaleorSignatureVerifier:
        """JWKS from ``SALEOR_JWKS_URL`` (or derived from ``SALEOR_API_URL``), HMAC if set."""
        settings = settings or get_settings()
        url = settings.jwks_url_effective
        secret = settings.webhook_secret
        cache = None
        if url:
            cache = JwksCache(
                url, ttl=settings.jwks_ttl, refetch_cooldown=settings.jwks_refetch_cooldown
            )
        return cls(
            jwks=cache,
            legacy_secret=secret.get_secret_value() if secret else None,
        )

    def verify(self, raw_body: bytes, signature: str | None) -> bool:
        """True when ``signature`` authenticates ``raw_body``; fails closed when unconfigured."""
        return verify_signature(
            raw_body, signature, jwks=self.jwks, legacy_secret=self.legacy_secret
        )


@dataclass(frozen=True)
class SaleorDelivery:
    """The delivery headers of one webhook (unsigned: trust them only after verification)."""

    event: str
    domain: str
    signature: str | None
    api_url: str | None = None  # informational only; never used to fetch keys

    @classmethod
    def from_headers(cls, headers: Mapping[str, str]) -> SaleorDelivery:
        """Read ``Saleor-*`` headers, falling back to the deprecated ``X-Saleor-*`` ones."""
        event = _header(headers, EVENT_HEADER)
        domain = _header(headers, DOMAIN_HEADER)
        if event is None or domain is None:
            missing = EVENT_HEADER if event is None else DOMAIN_HEADER
            raise MalformedPayload(f"missing header {missing}")
        return cls(
            event=event.lower(),
            domain=domain.lower(),
            signature=signature_from_headers(headers),
            api_url=_header(headers, API_URL_HEADER),
        )

    @property
    def is_product_event(self) -> bool:
        """True for ``product_created`` and ``product_updated``."""
        return self.event in PRODUCT_EVENTS


@dataclass(frozen=True)
class ChannelListing:
    """A product's publication in one channel."""

    channel_slug: str
    is_published: bool


@dataclass(frozen=True)
class SaleorProduct:
    """The product fields the connector uses (from a webhook or a query)."""

    id: str  # Relay global ID, base64("Product:<pk>")
    name: str
    slug: str
    updated_at: datetime | None
    metadata: tuple[tuple[str, str], ...]
    channel_listings: tuple[ChannelListing, ...] | None  # None: not in the payload

    def metadata_value(self, key: str) -> str | None:
        """The public metadata value for ``key``, if set."""
        return next((value for k, value in self.metadata if k == key), None)

    @property
    def short_url(self) -> str | None:
        """The short URL the connector wrote before (echo detection)."""
        return self.metadata_value(SHORT_URL_METADATA_KEY) or None

    @property
    def is_published(self) -> bool | None:
        """Published in at least one channel; ``None`` when listings were not delivered."""
        if self.channel_listings is None:
            return None
        return any(listing.is_published for listing in self.channel_listings)


@dataclass(frozen=True)
class SaleorProductEvent:
    """A ``PRODUCT_CREATED`` / ``PRODUCT_UPDATED`` subscription payload."""

    product: SaleorProduct
    issued_at: datetime | None
    version: str | None


def parse_product_event(raw_body: bytes) -> SaleorProductEvent:
    """Parse the subscription payload ``{"issuedAt": ..., "product": {...}}``."""
    try:
        data = json.loads(raw_body)
    except (UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise MalformedPayload(f"body is not JSON: {exc}") from exc
    if not isinstance(data, dict):
        raise MalformedPayload("body is not a JSON object")
    product = data.get("product")
    if not isinstance(product, Mapping):
        raise MalformedPayload("payload has no product (check the subscription query)")
    version = data.get("version")
    return SaleorProductEvent(
        product=parse_product(product),
        issued_at=_optional_time(data.get("issuedAt"), "issuedAt"),
        version=version if isinstance(version, str) else None,
    )


def parse_product(data: Mapping[str, Any]) -> SaleorProduct:
    """Build a :class:`SaleorProduct` from a GraphQL ``Product`` selection."""
    product_id = data.get("id")
    if not isinstance(product_id, str) or not product_id:
        raise MalformedPayload(f"product id must be a non-empty string, got {product_id!r}")
    return SaleorProduct(
        id=product_id,
        name=_text(data, "name"),
        slug=_text(data, "slug"),
        updated_at=_optional_time(data.get("updatedAt"), "updatedAt"),
        metadata=_metadata(data.get("metadata")),
        channel_listings=_listings(data.get("channelListings")),
    )


def should_shorten(product: SaleorProduct) -> bool:
    """Only a product published in some channel is shortened (unknown counts as no)."""
    return product.is_published is True


def _text(data: Mapping[str, Any], key: str) -> str:
    value = data.get(key, "")
    if not isinstance(value, str):
        raise MalformedPayload(f"product {key} must be a string, got {value!r}")
    return value


def _metadata(items: Any) -> tuple[tuple[str, str], ...]:
    if items is None:
        return ()
    if not isinstance(items, list):
        raise MalformedPayload("product metadata must be a list of {key, value}")
    pairs = []
    for item in items:
        if not isinstance(item, Mapping) or not isinstance(item.get("key"), str):
            raise MalformedPayload(f"bad metadata item {item!r}")
        pairs.append((item["key"], str(item.get("value", ""))))
    return tuple(pairs)


def _listings(items: Any) -> tuple[ChannelListing, ...] | None:
    if items is None:
        return None
    if not isinstance(items, list):
        raise MalformedPayload("product channelListings must be a list")
    listings = []
    for item in items:
        if not isinstance(item, Mapping) or not isinstance(item.get("isPublished"), bool):
            raise MalformedPayload(f"bad channel listing {item!r}")
        channel = item.get("channel")
        slug = channel.get("slug") if isinstance(channel, Mapping) else None
        listings.append(
            ChannelListing(channel_slug=str(slug or ""), is_published=item["isPublished"])
        )
    return tuple(listings)


def _optional_time(value: Any, what: str) -> datetime | None:
    if value is None:
        return None
    if not isinstance(value, str):
        raise MalformedPayload(f"{what} must be a timestamp string, got {value!r}")
    try:
        return datetime.fromisoformat(value.replace("Z", "+00:00"))
    except ValueError as exc:
        raise MalformedPayload(f"{what} is not an ISO-8601 timestamp: {value!r}") from exc
