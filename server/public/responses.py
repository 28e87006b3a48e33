"""Raw ASGI answers of the public side (no Starlette Response objects on this path)."""

from __future__ import annotations

from collections.abc import Iterable

from starlette.types import Send

from server.public.location import CACHE_CONTROL, ROBOTS, Headers

EMPTY_BODY = {"type": "http.response.body", "body": b""}  # never mutated downstream

# Pages are self-contained (inline CSS, no script): the policy allows nothing else.
_PAGE_HEADERS = (
    (b"content-type", b"text/html; charset=utf-8"),
    (b"content-security-policy",
     b"default-src 'none'; style-src 'unsafe-inline'; img-src 'self' data:; "
     b"form-action 'self'; base-uri 'none'; frame-ancestors 'none'"),
    (b"x-content-type-options", b"nosniff"),
    (b"referrer-policy", b"strict-origin-when-cross-origin"),
    (b"vary", b"Accept-Language"),
    ROBOTS,
)
NO_STORE = (b"cache-control", b"no-store")


async def send_redirect(send: Send, headers: Headers, status: int = 302) -> None:
    """A redirect with prebuilt headers and no body."""
    await send({"type": "http.response.start", "status": status, "headers": headers})
    await send(EMPTY_BODY)


async def send_page(
    send: Send,
    status: int,
    body: bytes,
    *,
    head: bool,
    cache: tuple[bytes, bytes] = CACHE_CONTROL,
    extra: Iterable[tuple[bytes, bytes]] = (),
) -> None:
    """An HTML page (headers only for ``HEAD``)."""
    headers = [*_PAGE_HEADERS, cache, (b"content-length", str(len(body)).encode()), *extra]
    await send({"type": "http.response.start", "status": status, "headers": headers})
    await send({"type": "http.response.body", "body": b"" if head else body})


async def send_bytes(
    send: Send, body: bytes, content_type: bytes, *, head: bool, cache_control: bytes
) -> None:
    """A binary or text body with its type (QR codes)."""
    headers = [
        (b"content-type", content_type),
        (b"content-length", str(len(body)).encode()),
        (b"cache-control", cache_control),
        (b"x-content-type-options", b"nosniff"),
    ]
    await send({"type": "http.response.start", "status": 200, "headers": headers})
    await send({"type": "http.response.body", "body": b"" if head else body})


def json_bytes(payload: object) -> bytes:
    """Compact UTF-8 JSON (the API's encoding)."""
    from server.api.http import dumps

    return dumps(payload)


async def send_json(send: Send, status: int, body: bytes) -> None:
    """A JSON body (the API envelope of a refused host)."""
    headers = [(b"content-type", b"application/json"),
               (b"content-length", str(len(body)).encode())]
    await send({"type": "http.response.start", "status": status, "headers": headers})
    await send({"type": "http.response.body", "body": body})


def header(headers: Iterable[tuple[bytes, bytes]], name: bytes) -> str | None:
    """One request header's value (latin-1, as HTTP allows), or ``None``."""
    for key, value in headers:
        if key == name:
            return value.decode("latin-1")
    return None


def cookies(headers: Iterable[tuple[bytes, bytes]]) -> dict[str, str]:
    """The request's cookies; of a repeated name the first wins (browsers send the cookie
    with the longest, most specific path first)."""
    jar: dict[str, str] = {}
    for key, value in headers:
        if key == b"cookie":
            for part in value.decode("latin-1").split(";"):
                name, eq, val = part.strip().partition("=")
                if eq:
                    jar.setdefault(name, val)
    return jar
