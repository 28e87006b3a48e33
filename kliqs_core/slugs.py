"""Slug helpers: make a slug from a product title, and suffix it after a conflict.

The contract: 3-64 characters of ``A-Z a-z 0-9 - _``, starting and ending with a letter or
digit, compared case-insensitively (so these helpers produce lower case).
"""

from __future__ import annotations

import re
import unicodedata

__all__ = [
    "MAX_SLUG_LENGTH",
    "MIN_SLUG_LENGTH",
    "SUFFIX_ROOM",
    "is_valid_slug",
    "slugify",
    "with_suffix",
]

MIN_SLUG_LENGTH = 3
MAX_SLUG_LENGTH = 64
#: Characters :func:`slugify` leaves free by default for a ``-NNN`` suffix.
SUFFIX_ROOM = 4

_SLUG = re.compile(r"[A-Za-z0-9](?:[A-Za-z0-9_-]{1,62})[A-Za-z0-9]")
_NOT_ALNUM = re.compile(r"[^a-z0-9]+")


def slugify(text: str, *, max_length: int = MAX_SLUG_LENGTH - SUFFIX_ROOM) -> str:
    """An ASCII, lower-case, hyphenated slug of ``text``, at most ``max_length`` characters.

    Accents are folded (``"Kopi Gayo Arabika – 250 g"`` -> ``"kopi-gayo-arabika-250-g"``) and
    anything else becomes a single hyphen. The result may be shorter than 3 characters, even
    empty (a title in another script): check it with :func:`is_valid_slug`, or let the server
    generate the code.
    """
    if max_length < 1:
        raise ValueError("max_length must be at least 1")
    folded = unicodedata.normalize("NFKD", text).encode("ascii", "ignore").decode("ascii")
    slug = _NOT_ALNUM.sub("-", folded.lower()).strip("-")
    # Cut at the limit, then drop a hyphen the cut may have left at the end.
    return slug[:max_length].rstrip("-")


def with_suffix(slug: str, n: int) -> str:
    """The ``n``-th candidate for ``slug``: the slug itself for 1, then ``slug-2``, ``slug-3``...

    The base is shortened so the candidate never exceeds 64 characters.
    """
    if n < 1:
        raise ValueError("n counts candidates from 1")
    if n == 1:
        return slug if len(slug) <= MAX_SLUG_LENGTH else slug[:MAX_SLUG_LENGTH].rstrip("-_")
    suffix = f"-{n}"
    base = slug[: MAX_SLUG_LENGTH - len(suffix)].rstrip("-_")
    return base + suffix


def is_valid_slug(slug: str) -> bool:
    """Whether ``slug`` meets the contract's format (not whether it is reserved or free)."""
    return _SLUG.fullmatch(slug) is not None
