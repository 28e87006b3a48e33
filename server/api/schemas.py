"""Pydantic models that describe the API in OpenAPI (requests are parsed by hand, in the
contract's order of errors, so these models document; they do not validate requests)."""

from __future__ import annotations

from datetime import datetime
from typing import Literal

from pydantic import BaseModel, Field


class LinkCreate(BaseModel):
    """Body of ``POST /api/v1/links``."""

    model_config = {"extra": "forbid"}

    url: str = Field(max_length=2048, description="http or https URL with a host")
    slug: str | None = Field(
        default=None,
        max_length=64,
        description="3–64 of A–Z a–z 0–9 - _, starting and ending with a letter or digit; "
        "case-insensitive; empty or missing: generated",
    )
    title: str | None = Field(default=None, max_length=200)
    description: str | None = Field(default=None, max_length=1000)
    expires_at: datetime | None = Field(default=None, description="ISO 8601, in the future; "
                                        "an offset-less value is UTC")
    password: str | None = Field(default=None, min_length=4, max_length=128)


class LinkPatch(LinkCreate):
    """Body of ``PATCH /api/v1/links/{id}``: any create field; ``null`` clears it."""

    url: str | None = Field(default=None, max_length=2048)  # type: ignore[assignment]


class LinkOut(BaseModel):
    """A short link."""

    id: str
    short_code: str
    short_url: str
    destination_url: str
    title: str | None
    description: str | None
    expires_at: str | None
    has_password: bool
    clicks: int
    created_at: str
    updated_at: str


class LinkPage(BaseModel):
    """A page of links, newest first."""

    items: list[LinkOut]
    next_cursor: str | None


class Deleted(BaseModel):
    """Answer to a delete."""

    id: str
    deleted: Literal[True]


class AccountOut(BaseModel):
    id: str
    email: str


class KeyOut(BaseModel):
    id: str
    name: str
    last4: str


class UsageOut(BaseModel):
    requests_used: int
    requests_limit: int
    links_used: int
    links_limit: int
    resets_at: str


class MeOut(BaseModel):
    """Account, plan, key and usage (the API Self-Test)."""

    account: AccountOut
    plan: Literal["free", "starter", "pro", "business"]
    key: KeyOut
    usage: UsageOut


class Counted(BaseModel):
    value: str
    clicks: int


class DayCount(BaseModel):
    date: str
    clicks: int


class LinkStats(BaseModel):
    """Clicks of one link; bots are counted apart from people."""

    link_id: str
    total_clicks: int
    human_clicks: int
    bot_clicks: int
    unique_visitors: int
    per_day: list[DayCount]
    referrers: list[Counted]
    devices: list[Counted]
    browsers: list[Counted]
    os: list[Counted]
    countries: list[Counted]


class ErrorOut(BaseModel):
    """The error envelope."""

    success: Literal[False]
    error: str
    message: str
    request_id: str | None = None


def envelope(model: type[BaseModel]) -> type[BaseModel]:
    """``{"success": true, "data": model}`` as its own named schema."""
    name = f"{model.__name__}Envelope"
    fields = {"success": (Literal[True], ...), "data": (model, ...)}
    from pydantic import create_model

    return create_model(name, **fields)  # type: ignore[call-overload,no-any-return]
