"""API keys: ``kliqs_sk_live_`` + 32 base62 characters, stored only as SHA-256."""

from __future__ import annotations

import hashlib
import re
import secrets
import string

PREFIX = "kliqs_sk_live_"
_ALPHABET = string.ascii_letters + string.digits
_KEY_RE = re.compile(r"kliqs_sk_live_[0-9A-Za-z]{32}")


def generate_key() -> str:
    """A new random key (190 bits of entropy)."""
    return PREFIX + "".join(secrets.choice(_ALPHABET) for _ in range(32))


def hash_key(key: str) -> str:
    """The SHA-256 hex digest stored in place of the key."""
    return hashlib.sha256(key.encode("ascii")).hexdigest()


def looks_like_key(candidate: str) -> bool:
    """True when ``candidate`` has the exact shape of a key (checked before any lookup)."""
    return _KEY_RE.fullmatch(candidate) is not None
