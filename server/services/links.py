"""Links: create, read, list, update and delete, each inside the caller's transaction."""

from __future__ import annotations

import base64
import secrets
import uuid
from datetime import datetime
from typing import Any

from sqlalchemy import Connection, Row, and_, bindparam, insert, or_, select, update

from kliqs_core.hotsql import HotStatement
from server.api.errors import ApiError, ErrorCode
from server.clock import iso
from server.db.models import Account, Link, Name
from server.db.sql import insert_if_absent
from server.services.auth import Caller
from server.services.validation import UNSET, LinkInput, check_text

CODE_ALPHABET = "abcdefghjkmnpqrstuvwxyz23456789"  # no look-alikes: 0 o 1 l i
CODE_LENGTH = 7
_CODE_TRIES = 8

_COLUMNS = (
    Link.id,
    Link.code,
    Link.destination_url,
    Link.title,
    Link.description,
    Link.expires_at,
    Link.password_hash,
    Link.clicks,
    Link.created_at,
    Link.updated_at,
)


def generate_code() -> str:
    """A random 7-character code (31^7, about 2.7e10 codes).

    One 64-bit draw, spelled in base 31: seven ``secrets.choice`` calls cost more than the
    insert; the bias of 2^64 mod 31^7 is below one in 10^8.
    """
    number = int.from_bytes(secrets.token_bytes(8), "big")
    chars = []
    for _ in range(CODE_LENGTH):
        number, digit = divmod(number, len(CODE_ALPHABET))
        chars.append(CODE_ALPHABET[digit])
    return "".join(chars)


def link_json(row: Row[Any] | dict[str, Any], base_url: str) -> dict[str, Any]:
    """The contract's link object."""
    m = row._mapping if isinstance(row, Row) else row
    return {
        "id": m["id"],
        "short_code": m["code"],
        "short_url": f"{base_url}/{m['code']}",
        "destination_url": m["destination_url"],
        "title": m["title"],
        "description": m["description"],
        "expires_at": iso(m["expires_at"]),
        "has_password": m["password_hash"] is not None,
        "clicks": m["clicks"],
        "created_at": iso(m["created_at"]),
        "updated_at": iso(m["updated_at"]),
    }


def claim_name(conn: Connection, name: str, kind: str) -> bool:
    """Take ``name`` in the shared namespace; False when someone holds it."""
    return insert_if_absent(conn, Name.name, {"name": name, "kind": kind})


_RESERVE_SLOT = HotStatement(
    update(Account)
    .where(Account.id == bindparam("b_account"), Account.links_count < bindparam("b_max"))
    .values(links_count=Account.links_count + 1)
)
_INSERT_LINK = HotStatement(
    insert(Link),
    column_keys=[
        "id", "account_id", "code", "destination_url", "title", "description", "expires_at",
        "password_hash", "clicks", "created_at", "updated_at",
    ],
)


def _reserve_link_slot(conn: Connection, caller: Caller) -> None:
    params = {"b_account": caller.account_id, "b_max": caller.plan.max_links}
    if _RESERVE_SLOT.execute(conn, params).rowcount != 1:
        raise ApiError(ErrorCode.SHORTLINK_LIMIT_REACHED)


def _claim_code(conn: Connection, slug: str | None) -> str:
    if slug is not None:
        if not claim_name(conn, slug, "link"):
            raise ApiError(ErrorCode.SLUG_ALREADY_EXISTS)
        return slug
    for _ in range(_CODE_TRIES):
        code = generate_code()
        if claim_name(conn, code, "link"):
            return code
    raise RuntimeError("could not find a free code")  # 8 collisions in 2.7e10: never


def create_link(
    conn: Connection, caller: Caller, fields: LinkInput, *, password_hash: str | None, now: datetime
) -> dict[str, Any]:
    """Insert a link for the caller (limit, then slug), returning its row as a dict."""
    _reserve_link_slot(conn, caller)
    code = _claim_code(conn, None if fields.slug is UNSET else fields.slug)
    row = {
        "id": str(uuid.uuid4()),
        "account_id": caller.account_id,
        "code": code,
        "destination_url": fields.url,
        "title": _or_none(fields.title),
        "description": _or_none(fields.description),
        "expires_at": _or_none(fields.expires_at),
        "password_hash": password_hash,
        "clicks": 0,
        "created_at": now,
        "updated_at": now,
    }
    _INSERT_LINK.execute(conn, row)
    return row


def _or_none(value: Any) -> Any:
    return None if value is UNSET else value


def get_link(conn: Connection, caller: Caller, id_or_code: str) -> Row[Any]:
    """The caller's live link by id or code, or ``NOT_FOUND``."""
    key = Link.id == id_or_code if _is_uuid(id_or_code) else Link.code == id_or_code.lower()
    row = conn.execute(
        select(*_COLUMNS).where(
            key, Link.account_id == caller.account_id, Link.deleted_at.is_(None)
        )
    ).first()
    if row is None:
        raise ApiError(ErrorCode.NOT_FOUND)
    return row


def _is_uuid(value: str) -> bool:
    try:
        uuid.UUID(value)
    except ValueError:
        return False
    return len(value) == 36


def update_link(
    conn: Connection,
    caller: Caller,
    link_id: str,
    fields: LinkInput,
    *,
    password_hash: str | None,
    now: datetime,
) -> Row[Any]:
    """Apply a PATCH; a ``null`` title, description, expiry or password clears it."""
    current = get_link(conn, caller, link_id)
    values: dict[str, Any] = {"updated_at": now}
    if fields.url is not UNSET:
        values["destination_url"] = fields.url
    for name in ("title", "description", "expires_at"):
        value = getattr(fields, name)
        if value is not UNSET:
            values[name] = value
    if fields.password is not UNSET:
        values["password_hash"] = password_hash
    if fields.slug not in (UNSET, None) and fields.slug != current.code:
        values["code"] = _claim_code(conn, fields.slug)
    conn.execute(update(Link).where(Link.id == current.id).values(values))
    return get_link(conn, caller, current.id)


def delete_link(conn: Connection, caller: Caller, link_id: str, *, now: datetime) -> str:
    """Delete a link (its code stays taken, so it is never reissued); frees a plan slot."""
    current = get_link(conn, caller, link_id)
    conn.execute(update(Link).where(Link.id == current.id).values(deleted_at=now))
    conn.execute(
        update(Account)
        .where(Account.id == caller.account_id)
        .values(links_count=Account.links_count - 1)
    )
    return str(current.id)


def list_links(
    conn: Connection, caller: Caller, *, q: str | None, limit: int, cursor: str | None
) -> tuple[list[Row[Any]], str | None]:
    """A page of the caller's links, newest first, and the cursor of the next page."""
    stmt = select(*_COLUMNS).where(Link.account_id == caller.account_id, Link.deleted_at.is_(None))
    if q:
        check_text(q, "q")
        pattern = "%" + q.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_") + "%"
        stmt = stmt.where(
            or_(
                Link.code.ilike(pattern, escape="\\"),
                Link.title.ilike(pattern, escape="\\"),
                Link.destination_url.ilike(pattern, escape="\\"),
            )
        )
    if cursor:
        created_at, link_id = decode_cursor(cursor)
        stmt = stmt.where(
            or_(Link.created_at < created_at, and_(Link.created_at == created_at, Link.id < link_id))
        )
    rows = conn.execute(
        stmt.order_by(Link.created_at.desc(), Link.id.desc()).limit(limit + 1)
    ).all()
    next_cursor = encode_cursor(rows[limit - 1]) if len(rows) > limit else None
    return rows[:limit], next_cursor


def encode_cursor(row: Row[Any]) -> str:
    """An opaque cursor after ``row``."""
    raw = f"{row.created_at.isoformat()}|{row.id}".encode()
    return base64.urlsafe_b64encode(raw).decode().rstrip("=")


def decode_cursor(cursor: str) -> tuple[datetime, str]:
    """The position a cursor names, or ``VALIDATION_ERROR`` for a garbled one."""
    try:
        raw = base64.urlsafe_b64decode(cursor + "=" * (-len(cursor) % 4)).decode()
        stamp, link_id = raw.split("|", 1)
        return datetime.fromisoformat(stamp), str(uuid.UUID(link_id))
    except (ValueError, UnicodeDecodeError):
        raise ApiError(
            ErrorCode.VALIDATION_ERROR, detail=("Cursor tidak valid.", "The cursor is not valid.")
        ) from None
