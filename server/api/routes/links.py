"""``/api/v1/links``: create, list, read, update, delete and stats."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

from fastapi import APIRouter
from sqlalchemy import Connection
from sqlalchemy.exc import IntegrityError
from starlette.concurrency import run_in_threadpool
from starlette.requests import Request
from starlette.responses import Response

from server.api import openapi_doc as doc
from server.api.calls import Done, run_call
from server.api.errors import ApiError, ErrorCode
from server.api.http import dumps, read_body, success
from server.api.schemas import Deleted, LinkCreate, LinkOut, LinkPage, LinkPatch, envelope
from server.clock import utcnow
from server.services import idempotency, links
from server.services.auth import Caller, bearer_token
from server.services.passwords import hash_password
from server.services.validation import LinkInput, parse_json_object, validate_link_fields
from server.state import Kliqs

router = APIRouter(tags=["links"])

_V = ErrorCode


@dataclass(frozen=True)
class Prepared:
    """A body parsed and validated before the transaction (errors are raised inside it)."""

    fields: LinkInput | None = None
    password_hash: str | None = None
    fingerprint: str | None = None
    error: ApiError | None = None

    def unwrap(self) -> LinkInput:
        """The fields, or the deferred error (so it answers after auth and quota)."""
        if self.error is not None:
            raise self.error
        assert self.fields is not None
        return self.fields


async def _prepare(request: Request, kliqs: Kliqs, *, partial: bool) -> Prepared:
    fingerprint = None
    try:
        raw = await read_body(request, kliqs.settings.max_body_bytes)
        body = parse_json_object(raw)
        if request.headers.get("idempotency-key") is not None:
            fingerprint = idempotency.request_fingerprint(body)
        fields = validate_link_fields(
            body,
            now=utcnow(),
            own_hosts=kliqs.own_hosts,
            reserved=kliqs.settings.all_reserved_slugs,
            partial=partial,
        )
    except ApiError as err:
        return Prepared(fingerprint=fingerprint, error=err)
    password_hash = None
    if isinstance(fields.password, str) and _has_plausible_key(request):
        # Argon2 takes tens of milliseconds: off the event loop, and only for real keys.
        password_hash = await run_in_threadpool(hash_password, fields.password)
    return Prepared(fields, password_hash, fingerprint)


def _has_plausible_key(request: Request) -> bool:
    try:
        bearer_token(request.headers.get("authorization"))
    except ApiError:
        return False
    return True


def _kliqs(request: Request) -> Kliqs:
    return request.app.state.kliqs  # type: ignore[no-any-return]


def _headers(done: Done[Any]) -> dict[str, str]:
    return done.usage.headers()


_LINK_ID = {"link_id": "$response.body#/data/id"}
_FOLLOW_UPS = {
    "GetLink": {"operationId": "getLink", "parameters": _LINK_ID},
    "UpdateLink": {"operationId": "updateLink", "parameters": _LINK_ID},
    "DeleteLink": {"operationId": "deleteLink", "parameters": _LINK_ID},
}


@router.post(
    "/links",
    status_code=201,
    operation_id="createLink",
    summary="Create a short link",
    responses={201: {"model": envelope(LinkOut), "links": _FOLLOW_UPS}, **doc.errors(
        _V.VALIDATION_ERROR, _V.SHORTLINK_LIMIT_REACHED, _V.SLUG_ALREADY_EXISTS,
        _V.IDEMPOTENCY_KEY_REUSED, _V.PAYLOAD_TOO_LARGE)},
    openapi_extra={
        **doc.json_body(LinkCreate),
        "parameters": [doc.header("Idempotency-Key", "replays the first answer for 24 hours")],
    },
)
async def create_link(request: Request) -> Response:
    """Create a short link; errors in the contract's order."""
    kliqs = _kliqs(request)
    prepared = await _prepare(request, kliqs, partial=False)
    idem_key = request.headers.get("idempotency-key")
    authorization = request.headers.get("authorization")
    try:
        done = await kliqs.run(_create, kliqs, authorization, prepared, idem_key)
    except IntegrityError:
        if idem_key is None:
            raise
        # A twin with the same key committed first: answer its stored response.
        done = await kliqs.run(_create, kliqs, authorization, prepared, idem_key)
    status, body = done.value
    headers = _headers(done)
    if done.replayed:
        headers["Idempotent-Replayed"] = "true"
    return Response(body, status, headers, media_type="application/json")


def _create(
    kliqs: Kliqs, authorization: str | None, prepared: Prepared, idem_key: str | None
) -> Done[tuple[int, bytes]]:
    def replay(conn: Connection, caller: Caller, now: datetime) -> tuple[int, bytes] | None:
        if idem_key is None:
            return None
        idempotency.check_key(idem_key)
        stored = idempotency.find_replay(
            conn, caller.account_id, idem_key, prepared.fingerprint or "", now=now
        )
        return None if stored is None else (stored.status_code, stored.body)

    def work(conn: Connection, caller: Caller, now: datetime) -> tuple[int, bytes]:
        fields = prepared.unwrap()
        row = links.create_link(conn, caller, fields, password_hash=prepared.password_hash, now=now)
        body = dumps({"success": True, "data": links.link_json(row, kliqs.settings.public_base_url)})
        if idem_key is not None:
            answer = idempotency.Replay(201, body)
            idempotency.remember(
                conn, caller.account_id, idem_key, prepared.fingerprint or "", answer, now=now
            )
        return 201, body

    return run_call(kliqs, authorization, work, replay=replay)


@router.get(
    "/links",
    operation_id="listLinks",
    summary="List links, newest first",
    responses={200: {"model": envelope(LinkPage)}, **doc.errors(_V.VALIDATION_ERROR)},
    openapi_extra={"parameters": [
        doc.query("q", {"type": "string"}, "search in code, title and destination"),
        doc.query("limit", {"type": "integer", "minimum": 1, "maximum": 100, "default": 20},
                  "page size"),
        doc.query("cursor", {"type": "string"}, "next_cursor of the previous page"),
    ]},
)
async def list_links(request: Request) -> Response:
    """A page of the account's links."""
    kliqs = _kliqs(request)
    params = request.query_params
    base = kliqs.settings.public_base_url

    def work(conn: Connection, caller: Caller, now: datetime) -> dict[str, Any]:
        limit = _page_size(params.get("limit"))
        rows, cursor = links.list_links(
            conn, caller, q=params.get("q"), limit=limit, cursor=params.get("cursor")
        )
        return {"items": [links.link_json(r, base) for r in rows], "next_cursor": cursor}

    done = await kliqs.run(run_call, kliqs, request.headers.get("authorization"), work)
    return success(done.value, headers=_headers(done))


def _page_size(raw: str | None) -> int:
    if raw is None:
        return 20
    if not raw.isdigit() or not 1 <= int(raw) <= 100:
        raise ApiError(
            ErrorCode.VALIDATION_ERROR,
            detail=("limit harus angka 1–100.", "limit must be a number from 1 to 100."),
        )
    return int(raw)


@router.get(
    "/links/{link_id}",
    operation_id="getLink",
    summary="Get one link by id or code",
    responses={200: {"model": envelope(LinkOut)}, **doc.errors(_V.NOT_FOUND)},
)
async def get_link(request: Request, link_id: str) -> Response:
    """One link of the account."""
    kliqs = _kliqs(request)
    base = kliqs.settings.public_base_url

    def work(conn: Connection, caller: Caller, now: datetime) -> dict[str, Any]:
        return links.link_json(links.get_link(conn, caller, link_id), base)

    done = await kliqs.run(run_call, kliqs, request.headers.get("authorization"), work)
    return success(done.value, headers=_headers(done))


@router.patch(
    "/links/{link_id}",
    operation_id="updateLink",
    summary="Change a link",
    responses={200: {"model": envelope(LinkOut)}, **doc.errors(
        _V.VALIDATION_ERROR, _V.NOT_FOUND, _V.SLUG_ALREADY_EXISTS, _V.PAYLOAD_TOO_LARGE)},
    openapi_extra=doc.json_body(LinkPatch),
)
async def patch_link(request: Request, link_id: str) -> Response:
    """Change any create field; ``null`` clears title, description, expiry or password."""
    kliqs = _kliqs(request)
    prepared = await _prepare(request, kliqs, partial=True)
    base = kliqs.settings.public_base_url

    def work(conn: Connection, caller: Caller, now: datetime) -> dict[str, Any]:
        row = links.update_link(
            conn, caller, link_id, prepared.unwrap(), password_hash=prepared.password_hash, now=now
        )
        return links.link_json(row, base)

    done = await kliqs.run(run_call, kliqs, request.headers.get("authorization"), work)
    _after_change(kliqs, done.value["short_code"])
    return success(done.value, headers=_headers(done))


@router.delete(
    "/links/{link_id}",
    operation_id="deleteLink",
    summary="Delete a link",
    responses={200: {"model": envelope(Deleted)}, **doc.errors(_V.NOT_FOUND)},
)
async def delete_link(request: Request, link_id: str) -> Response:
    """Delete a link; its code is never given to another link."""
    kliqs = _kliqs(request)

    def work(conn: Connection, caller: Caller, now: datetime) -> tuple[str, str]:
        row = links.get_link(conn, caller, link_id)
        links.delete_link(conn, caller, str(row.id), now=now)
        return str(row.id), str(row.code)

    done = await kliqs.run(run_call, kliqs, request.headers.get("authorization"), work)
    deleted_id, code = done.value
    _after_change(kliqs, code)
    return success({"id": deleted_id, "deleted": True}, headers=_headers(done))


def _after_change(kliqs: Kliqs, code: str) -> None:
    """Tell the redirect cache (when the public side runs) that a link changed."""
    hook = kliqs.extras.get("on_link_changed")
    if hook is not None:
        hook(code)
