"""Validation of link fields, in the contract's order of errors.

Type and length problems are ``VALIDATION_ERROR``; then each field's own rule answers its own
code (``INVALID_URL``, ``INVALID_SLUG``, ``RESERVED_SLUG``, ``INVALID_EXPIRES_AT``).
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any
from urllib.parse import quote, urlsplit, urlunsplit

from server.api.errors import ApiError, ErrorCode

MAX_URL = 2048
_SLUG_RE = re.compile(r"[A-Za-z0-9](?:[A-Za-z0-9_-]{1,62})[A-Za-z0-9]")
_CONTROL_OR_SPACE = re.compile(r"[\x00-\x20\x7f-\x9f\s]")
_HOST_LABEL = re.compile(r"(?!-)[a-z0-9-]{1,63}(?<!-)")
# Characters left as they are when percent-encoding a non-ASCII path or query.
_URL_SAFE = "/?#[]@!$&'()*+,;=:%~-._"

_FIELDS = ("url", "slug", "title", "description", "expires_at", "password")
_MAX_LEN = {"title": 200, "description": 1000}

UNSET: Any = object()


@dataclass(frozen=True)
class LinkInput:
    """Validated create/patch fields; ``UNSET`` marks a field the body did not carry."""

    url: Any = UNSET
    slug: Any = UNSET
    title: Any = UNSET
    description: Any = UNSET
    expires_at: Any = UNSET
    password: Any = UNSET


def parse_json_object(raw: bytes) -> dict[str, Any]:
    """The body as a JSON object, or ``VALIDATION_ERROR``."""
    try:
        body = json.loads(raw)
    except (ValueError, UnicodeDecodeError):
        raise _invalid("Body bukan JSON yang valid.", "The body is not valid JSON.") from None
    if not isinstance(body, dict):
        raise _invalid("Body harus berupa objek JSON.", "The body must be a JSON object.")
    return body


def validate_link_fields(
    body: dict[str, Any],
    *,
    now: datetime,
    own_hosts: frozenset[str],
    reserved: frozenset[str],
    partial: bool = False,
) -> LinkInput:
    """Check ``body`` against every rule and return the normalised fields."""
    _check_types(body, partial=partial)
    values: dict[str, Any] = {}
    if "url" in body:
        values["url"] = normalise_url(body["url"], own_hosts=own_hosts)
    if "slug" in body:
        values["slug"] = normalise_slug(body["slug"], reserved=reserved)
    if "expires_at" in body:
        values["expires_at"] = parse_expires_at(body["expires_at"], now=now)
    for name in ("title", "description", "password"):
        if name in body:
            values[name] = body[name]
    return LinkInput(**values)


def _check_types(body: dict[str, Any], *, partial: bool) -> None:
    unknown = sorted(set(body) - set(_FIELDS))
    if unknown:
        raise _invalid(f"Field tidak dikenal: {unknown[0]}.", f"Unknown field: {unknown[0]}.")
    if not partial and "url" not in body:
        raise _invalid("Field url wajib diisi.", "The url field is required.")
    if "url" in body and not isinstance(body["url"], str):
        raise _invalid("Field url harus berupa string.", "The url field must be a string.")
    for name in ("slug", "title", "description", "expires_at", "password"):
        value = body.get(name)
        if value is not None and not isinstance(value, str):
            raise _invalid(f"Field {name} harus berupa string.", f"The {name} field must be a string.")
    for name in ("title", "description", "password"):
        if "\x00" in (body.get(name) or ""):
            raise _invalid(f"Field {name} berisi karakter NUL.", f"The {name} field contains NUL.")
    for name, limit in _MAX_LEN.items():
        value = body.get(name)
        if isinstance(value, str) and len(value) > limit:
            raise _invalid(
                f"Field {name} maksimal {limit} karakter.",
                f"The {name} field must be at most {limit} characters.",
            )
    password = body.get("password")
    if isinstance(password, str) and not 4 <= len(password) <= 128:
        raise _invalid(
            "Password harus 4–128 karakter.", "The password must be 4–128 characters."
        )


def normalise_url(url: str, *, own_hosts: frozenset[str]) -> str:
    """The destination as stored: IDN host in punycode, non-ASCII path percent-encoded."""
    if not url or len(url) > MAX_URL or _CONTROL_OR_SPACE.search(url):
        raise ApiError(ErrorCode.INVALID_URL)
    try:
        parts = urlsplit(url)
        port = parts.port
    except ValueError:
        raise ApiError(ErrorCode.INVALID_URL) from None
    if parts.scheme.lower() not in ("http", "https") or not parts.hostname:
        raise ApiError(ErrorCode.INVALID_URL)
    if parts.username is not None or parts.password is not None:
        raise ApiError(ErrorCode.INVALID_URL)
    host = _ascii_host(parts.hostname)
    netloc = host if port is None else f"{host}:{port}"
    if host in own_hosts or netloc in own_hosts:
        raise ApiError(
            ErrorCode.INVALID_URL,
            detail=("URL tidak boleh mengarah ke Kliqs sendiri.", "The URL must not point back to Kliqs."),
        )
    normalised = urlunsplit(
        (
            parts.scheme.lower(),
            netloc,
            quote(parts.path, safe=_URL_SAFE),
            quote(parts.query, safe=_URL_SAFE),
            quote(parts.fragment, safe=_URL_SAFE),
        )
    )
    if len(normalised) > MAX_URL:
        raise ApiError(ErrorCode.INVALID_URL)
    return normalised


def _ascii_host(hostname: str) -> str:
    if hostname.startswith("[") or ":" in hostname:  # IPv6 literal
        return f"[{hostname.strip('[]')}]"
    try:
        host = hostname.encode("idna").decode("ascii").lower()
    except UnicodeError:
        raise ApiError(ErrorCode.INVALID_URL) from None
    labels = host.rstrip(".").split(".")
    if not all(_HOST_LABEL.fullmatch(label) for label in labels):
        raise ApiError(ErrorCode.INVALID_URL)
    return host


def normalise_slug(slug: str | None, *, reserved: frozenset[str]) -> str | None:
    """The slug lower-cased, ``None`` when empty (a code is then generated)."""
    if slug is None or slug == "":
        return None
    if not _SLUG_RE.fullmatch(slug) or not slug.isascii():
        raise ApiError(ErrorCode.INVALID_SLUG)
    lowered = slug.lower()
    if lowered in reserved:
        raise ApiError(ErrorCode.RESERVED_SLUG)
    return lowered


def parse_expires_at(value: str | None, *, now: datetime) -> datetime | None:
    """An aware UTC datetime in the future; an offset-less value is taken as UTC."""
    if value is None:
        return None
    try:
        moment = datetime.fromisoformat(value)
    except ValueError:
        raise ApiError(ErrorCode.INVALID_EXPIRES_AT) from None
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=UTC)
    if moment <= now:
        raise ApiError(ErrorCode.INVALID_EXPIRES_AT)
    return moment.astimezone(UTC)


def check_text(value: str, name: str) -> str:
    """``value`` unless it holds NUL, which no database column can store."""
    if "\x00" in value:
        raise _invalid(f"Parameter {name} berisi karakter NUL.", f"The {name} parameter contains NUL.")
    return value


def _invalid(indonesian: str, english: str) -> ApiError:
    return ApiError(ErrorCode.VALIDATION_ERROR, detail=(indonesian, english))
