"""Saleor's public signing keys, fetched from the configured JWKS URL and cached.

Saleor signs webhooks with RS256 and publishes the keys at
``{scheme}://{domain}/.well-known/jwks.json`` (``{"keys": [{..., "use": "sig", "kid": "1"}]}``).
The URL always comes from configuration, never from the unsigned ``Saleor-Api-Url`` header:
anyone could point that header at keys of their own.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable, Mapping
from typing import Any
from urllib.parse import urlsplit

import jwt
import requests

from kliqs_core.sessions import new_session

logger = logging.getLogger(__name__)

DEFAULT_TTL = 300.0
# At most one forced refetch (unknown kid) per this many seconds, so forged kids cannot make
# the connector hammer the shop's JWKS endpoint.
DEFAULT_REFETCH_COOLDOWN = 10.0
DEFAULT_TIMEOUT = 5.0


class JwksUnavailable(RuntimeError):
    """The JWKS could not be fetched or read; the signature cannot be judged (transient)."""

    is_transient = True


def jwks_url_for(api_url: str) -> str:
    """``https://shop.example/.well-known/jwks.json`` for ``https://shop.example/graphql/``."""
    parts = urlsplit(api_url)
    return f"{parts.scheme}://{parts.netloc}/.well-known/jwks.json"


class JwksCache:
    """Public keys by ``kid``, refreshed after ``ttl`` seconds and once on an unknown ``kid``."""

    def __init__(
        self,
        jwks_url: str,
        *,
        ttl: float = DEFAULT_TTL,
        refetch_cooldown: float = DEFAULT_REFETCH_COOLDOWN,
        session: requests.Session | None = None,
        timeout: float = DEFAULT_TIMEOUT,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.jwks_url = jwks_url
        self.ttl = ttl
        self.refetch_cooldown = refetch_cooldown
        self.timeout = timeout
        self.fetch_count = 0
        self._session = session or new_session()
        self._clock = clock
        self._keys: dict[str, Any] | None = None
        self._fetched_at = 0.0
        self._lock = threading.Lock()

    def get_key(self, kid: str) -> Any | None:
        """The public key for ``kid``, or ``None`` if the shop does not publish it.

        Raises :class:`JwksUnavailable` when no key set could be fetched at all.
        """
        with self._lock:
            now = self._clock()
            fetched_now = False
            if self._keys is None or now - self._fetched_at >= self.ttl:
                self._refresh(now, keep_stale=True)
                fetched_now = True
            keys = self._keys or {}
            if kid in keys or fetched_now:
                return keys.get(kid)
            if now - self._fetched_at < self.refetch_cooldown:
                return None
            # An unknown kid may mean Saleor rotated its key: look once more.
            self._refresh(now, keep_stale=True)
            return (self._keys or {}).get(kid)

    def clear(self) -> None:
        """Forget the cached keys; the next lookup fetches."""
        with self._lock:
            self._keys = None

    def _refresh(self, now: float, *, keep_stale: bool) -> None:
        try:
            self._keys = self._fetch()
            self._fetched_at = now
        except JwksUnavailable:
            if not (keep_stale and self._keys):
                raise
            # A passing outage must not refuse every webhook: keep the keys we had.
            logger.warning("JWKS refresh from %s failed; keeping cached keys", self.jwks_url)
            self._fetched_at = now

    def _fetch(self) -> dict[str, Any]:
        self.fetch_count += 1
        try:
            response = self._session.get(self.jwks_url, timeout=self.timeout)
            response.raise_for_status()
            document = response.json()
        except (requests.RequestException, ValueError) as exc:
            raise JwksUnavailable(f"cannot fetch JWKS from {self.jwks_url}: {exc}") from exc
        keys = _parse_keys(document)
        if not keys:
            raise JwksUnavailable(f"JWKS at {self.jwks_url} holds no usable RSA signing key")
        return keys


def _parse_keys(document: Any) -> dict[str, Any]:
    entries = document.get("keys") if isinstance(document, Mapping) else None
    keys: dict[str, Any] = {}
    for entry in entries if isinstance(entries, list) else []:
        if not isinstance(entry, Mapping) or entry.get("kty") != "RSA":
            continue
        if entry.get("use", "sig") != "sig" or not isinstance(entry.get("kid"), str):
            continue
        try:
            keys[entry["kid"]] = jwt.PyJWK(dict(entry)).key
        except jwt.PyJWTError:
            logger.warning("skipping unreadable JWK kid=%s", entry.get("kid"))
    return keys
