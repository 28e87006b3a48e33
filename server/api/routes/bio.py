"""``/api/v1/bio``: read and replace the account's Bio Page (served at ``/{handle}``)."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from fastapi import APIRouter
from pydantic import BaseModel, Field
from sqlalchemy import Connection
from starlette.requests import Request
from starlette.responses import Response

from server.api import openapi_doc as doc
from server.api.calls import run_call
from server.api.errors import ApiError, ErrorCode
from server.api.http import read_body, success
from server.api.schemas import envelope
from server.public import bio
from server.services.auth import Caller
from server.services.validation import parse_json_object
from server.state import Kliqs

router = APIRouter(tags=["bio"])

_V = ErrorCode


class BioLink(BaseModel):
    """One link of a Bio Page."""

    model_config = {"extra": "forbid"}

    title: str = Field(min_length=1, max_length=bio.MAX_LINK_TITLE)
    url: str = Field(max_length=2048, description="http or https URL")


class BioIn(BaseModel):
    """Body of ``PUT /api/v1/bio`` (the whole page, replaced)."""

    model_config = {"extra": "forbid"}

    handle: str = Field(
        min_length=3, max_length=64,
        description="the page's address, /{handle}: slug rules, shared with link codes",
    )
    display_name: str = Field(min_length=1, max_length=bio.MAX_NAME)
    text: str = Field(default="", max_length=bio.MAX_TEXT)
    links: list[BioLink] = Field(default_factory=list, max_length=bio.MAX_LINKS)


class BioOut(BaseModel):
    """An account's Bio Page."""

    handle: str
    url: str
    display_name: str
    text: str
    links: list[BioLink]
    updated_at: str


def _body_schema() -> dict[str, Any]:
    # BioLink is a component already (through BioOut), so refer to it there.
    schema = BioIn.model_json_schema(ref_template="#/components/schemas/{model}")
    schema.pop("$defs", None)
    return schema


def _kliqs(request: Request) -> Kliqs:
    return request.app.state.kliqs  # type: ignore[no-any-return]


def _no_page() -> ApiError:
    return ApiError(ErrorCode.NOT_FOUND,
                    detail=("Bio Page belum dibuat.", "There is no Bio Page yet."))


@router.get(
    "/bio",
    summary="Get the account's Bio Page",
    responses={200: {"model": envelope(BioOut)}, **doc.errors(_V.NOT_FOUND)},
)
async def get_bio(request: Request) -> Response:
    """The account's Bio Page, or ``NOT_FOUND`` before the first ``PUT``."""
    kliqs = _kliqs(request)
    base = kliqs.settings.public_base_url

    def work(conn: Connection, caller: Caller, now: datetime) -> dict[str, Any]:
        row = bio.get_bio(conn, caller.account_id)
        if row is None:
            raise _no_page()
        return bio.bio_json(row, base)

    done = await kliqs.run(run_call, kliqs, request.headers.get("authorization"), work)
    return success(done.value, headers=done.usage.headers())


@router.put(
    "/bio",
    summary="Create or replace the account's Bio Page",
    description=(
        "Replaces the whole page. `handle` follows the slug rules and shares the namespace "
        "of link codes; a handle once used stays taken (changing it frees nothing)."
    ),
    responses={200: {"model": envelope(BioOut)}, **doc.errors(
        _V.VALIDATION_ERROR, _V.INVALID_URL, _V.INVALID_SLUG, _V.RESERVED_SLUG,
        _V.SLUG_ALREADY_EXISTS, _V.PAYLOAD_TOO_LARGE)},
    openapi_extra={"requestBody": {"required": True, "content": {"application/json": {
        "schema": _body_schema()}}}},
)
async def put_bio(request: Request) -> Response:
    """Validate, then save in the same transaction as the auth and the count."""
    kliqs = _kliqs(request)
    base = kliqs.settings.public_base_url
    page: bio.BioInput | None = None
    error: ApiError | None = None
    try:
        body = parse_json_object(await read_body(request, kliqs.settings.max_body_bytes))
        page = bio.validate_bio(body, reserved=kliqs.settings.all_reserved_slugs)
    except ApiError as err:
        error = err  # answered after the 401s and 429s, as the contract orders

    def work(conn: Connection, caller: Caller, now: datetime) -> tuple[dict[str, Any], str | None]:
        if error is not None:
            raise error
        assert page is not None
        return bio.save_bio(conn, caller.account_id, page, now=now)

    done = await kliqs.run(run_call, kliqs, request.headers.get("authorization"), work)
    saved, before = done.value
    changed = kliqs.extras.get("on_link_changed")
    if changed is not None:  # the page's cache entries in this worker
        for handle in {saved["handle"], before} - {None}:
            changed(handle)
    return success(bio.bio_json(saved, base), headers=done.usage.headers())
