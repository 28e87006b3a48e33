"""The redirect's ``Location``: the destination with the visitor's query string appended."""

from __future__ import annotations

from urllib.parse import quote_from_bytes

# Bytes a query may carry as they are; anything else (spaces, controls, non-ASCII) is
# percent-encoded so the header stays valid. "%" is kept: the query arrives encoded already.
_QUERY_SAFE = b"!$&'()*+,-./:;=?@_~%[]"
_PLAIN = frozenset(b"abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789" + _QUERY_SAFE)

# The contract's headers of every redirect, shared by all of them (never mutated).
CACHE_CONTROL = (b"cache-control", b"private, max-age=0")
ROBOTS = (b"x-robots-tag", b"noindex")
EMPTY_LENGTH = (b"content-length", b"0")


Headers = tuple[tuple[bytes, bytes], ...]


def redirect_headers(location: str) -> Headers:
    """The headers of a 302 to ``location`` (an already-normalised ASCII URL); a tuple, so
    it can be shared by every response (ASGI servers only iterate headers)."""
    return ((b"location", location.encode("ascii", "replace")), CACHE_CONTROL, ROBOTS, EMPTY_LENGTH)


def clean_query(query: bytes) -> str:
    """The incoming query made safe for a header, unchanged when it already is."""
    if all(byte in _PLAIN for byte in query):
        return query.decode("ascii")
    return quote_from_bytes(query, safe=_QUERY_SAFE)


def with_query(destination: str, query: bytes) -> str:
    """``destination`` with ``query`` appended, joined by ``?`` or ``&``, before any fragment."""
    if not query:
        return destination
    base, hash_mark, fragment = destination.partition("#")
    if "?" not in base:
        joiner = "?"
    elif base.endswith(("?", "&")):
        joiner = ""
    else:
        joiner = "&"
    return f"{base}{joiner}{clean_query(query)}{hash_mark}{fragment}"
