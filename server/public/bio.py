"""Bio Pages: validation, reading and saving (one page per account, at ``/{handle}``).

Handles follow the slug rules and share the namespace of link codes (the ``names`` table).
A handle, once claimed, stays claimed: changing it does not free the old one, so nobody can
take over a handle already printed on flyers and profiles (the same rule as deleted links).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import Connection, insert, select, update

from server.api.errors import ApiError, ErrorCode
from server.clock import iso
from server.db.models import BioPage
from server.services.links import claim_name
from server.services.validation import normalise_slug, normalise_url

MAX_LINKS = 50
MAX_TEXT = 1000
MAX_NAME = 100
MAX_LINK_TITLE = 100
_FIELDS = ("handle", "display_name", "text", "links")


@dataclass(frozen=True)
class BioInput:
    """A validated Bio Page body."""

    handle: str
    display_name: str
    text: str
    links: tuple[tuple[str, str], ...]  # (title, url), in display order


def _invalid(indonesian: str, english: str) -> ApiError:
    return ApiError(ErrorCode.VALIDATION_ERROR, detail=(indonesian, english))


def _text(value: Any) -> bool:
    # NUL cannot be stored in PostgreSQL text: refused like any other malformed value.
    return isinstance(value, str) and "\x00" not in value


def _string(body: dict[str, Any], name: str, limit: int, *, required: bool) -> str:
    value = body.get(name, None if required else "")
    if not _text(value) or (required and not value.strip()):
        raise _invalid(f"Field {name} wajib berupa teks.", f"The {name} field must be text.")
    if len(value) > limit:
        raise _invalid(f"Field {name} maksimal {limit} karakter.",
                       f"The {name} field must be at most {limit} characters.")
    return value.strip() if name == "display_name" else value


def _links(raw: Any) -> list[tuple[str, str]]:
    if not isinstance(raw, list):
        raise _invalid("Field links harus berupa daftar.", "The links field must be a list.")
    if len(raw) > MAX_LINKS:
        raise _invalid(f"Maksimal {MAX_LINKS} link.", f"At most {MAX_LINKS} links.")
    checked = []
    for item in raw:
        if not isinstance(item, dict) or set(item) != {"title", "url"}:
            raise _invalid("Setiap link harus berisi title dan url.",
                           "Each link must have exactly a title and a url.")
        title, url = item["title"], item["url"]
        if not _text(title) or not title.strip() or len(title) > MAX_LINK_TITLE:
            raise _invalid(f"Judul link wajib, maksimal {MAX_LINK_TITLE} karakter.",
                           f"A link title is required, at most {MAX_LINK_TITLE} characters.")
        if not _text(url):
            raise _invalid("url link harus berupa teks.", "A link url must be text.")
        checked.append((title.strip(), url))
    return checked


def validate_bio(body: dict[str, Any], *, reserved: frozenset[str]) -> BioInput:
    """Check a ``PUT`` body in the contract's order of errors and normalise it.

    Links may point at Kliqs short links (a seller lists their own), unlike link
    destinations, which may not point back at Kliqs.
    """
    unknown = sorted(set(body) - set(_FIELDS))
    if unknown:
        raise _invalid(f"Field tidak dikenal: {unknown[0]}.", f"Unknown field: {unknown[0]}.")
    handle = body.get("handle")
    if not isinstance(handle, str) or not handle:
        raise _invalid("Field handle wajib diisi.", "The handle field is required.")
    display_name = _string(body, "display_name", MAX_NAME, required=True)
    text = _string(body, "text", MAX_TEXT, required=False)
    links = _links(body.get("links", []))
    urls = [normalise_url(url, own_hosts=frozenset()) for _, url in links]
    slug = normalise_slug(handle, reserved=reserved)
    assert slug is not None  # an empty handle was refused above
    return BioInput(slug, display_name, text,
                    tuple((title, url) for (title, _), url in zip(links, urls, strict=True)))


def bio_json(row: Any, base_url: str) -> dict[str, Any]:
    """The API's Bio Page object."""
    m = row._mapping if hasattr(row, "_mapping") else row
    return {
        "handle": m["handle"],
        "url": f"{base_url}/{m['handle']}",
        "display_name": m["display_name"],
        "text": m["text"],
        "links": [{"title": link["title"], "url": link["url"]} for link in m["links"]],
        "updated_at": iso(m["updated_at"]),
    }


_COLUMNS = (BioPage.handle, BioPage.display_name, BioPage.text, BioPage.links,
            BioPage.updated_at)


def get_bio(conn: Connection, account_id: str) -> Any:
    """The account's Bio Page row, or ``None``."""
    return conn.execute(select(*_COLUMNS).where(BioPage.account_id == account_id)).first()


def save_bio(conn: Connection, account_id: str, page: BioInput, *, now: datetime
             ) -> tuple[dict[str, Any], str | None]:
    """Create or replace the account's page; returns it and the handle it had before."""
    before = conn.execute(
        select(BioPage.handle).where(BioPage.account_id == account_id)
    ).scalar()
    if page.handle != before and not claim_name(conn, page.handle, "bio"):
        raise ApiError(ErrorCode.SLUG_ALREADY_EXISTS)
    values = {
        "handle": page.handle,
        "display_name": page.display_name,
        "text": page.text,
        "links": [{"title": title, "url": url} for title, url in page.links],
        "updated_at": now,
    }
    if before is None:
        conn.execute(insert(BioPage).values(account_id=account_id, **values))
    else:
        conn.execute(update(BioPage).where(BioPage.account_id == account_id).values(values))
    return values, before
