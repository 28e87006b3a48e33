"""Helpers of the public-side tests."""

from __future__ import annotations

import time
import uuid
from typing import Any

import httpx
from sqlalchemy import Engine, func, select

from kliqs_testing.servers import ApiAccount
from server.db.models import Click, Link

IPHONE = (
    "Mozilla/5.0 (iPhone; CPU iPhone OS 17_0 like Mac OS X) AppleWebKit/605.1.15 "
    "(KHTML, like Gecko) Version/17.0 Mobile/15E148 Safari/604.1"
)
DESKTOP = (
    "Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) "
    "Chrome/120.0.0.0 Safari/537.36"
)
GOOGLEBOT = "Mozilla/5.0 (compatible; Googlebot/2.1; +http://www.google.com/bot.html)"


def unique_slug(prefix: str = "t") -> str:
    """A slug no other test uses."""
    return f"{prefix}-{uuid.uuid4().hex[:10]}"


def create_link(http: httpx.Client, account: ApiAccount, **body: Any) -> dict[str, Any]:
    """A link made through the API (201 asserted)."""
    body.setdefault("url", "https://marketku.id/produk/1")
    resp = http.post("/api/v1/links", json=body, headers=account.auth)
    assert resp.status_code == 201, resp.text
    return dict(resp.json()["data"])


def stored_clicks(engine: Engine, link_id: str) -> int:
    """Click rows stored for ``link_id``."""
    with engine.connect() as conn:
        return int(conn.execute(
            select(func.count()).select_from(Click).where(Click.link_id == link_id)
        ).scalar_one())


def counter(engine: Engine, link_id: str) -> int:
    """``links.clicks`` of ``link_id``."""
    with engine.connect() as conn:
        return int(conn.execute(select(Link.clicks).where(Link.id == link_id)).scalar_one())


def wait_for_clicks(engine: Engine, link_id: str, expected: int, timeout: float = 10) -> int:
    """Poll until ``expected`` clicks are stored (or the timeout); returns the last count."""
    deadline = time.monotonic() + timeout
    count = stored_clicks(engine, link_id)
    while count < expected and time.monotonic() < deadline:
        time.sleep(0.05)
        count = stored_clicks(engine, link_id)
    return count
