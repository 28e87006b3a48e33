"""API Self-Test: what ``GET /api/v1/me`` answers for a key the user pastes.

The request goes through the real API application in-process (same routes, same checks,
same envelope), so the answer is exactly what the user's backend would get. The key is only
held for the duration of the call: never stored, logged or echoed back.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from starlette.types import ASGIApp

_PRINTABLE = frozenset(chr(c) for c in range(0x21, 0x7F))


@dataclass(frozen=True)
class SelfTest:
    """The API's answer: ``data`` on success, else ``error`` (a contract code) and ``message``."""

    status: int
    data: dict[str, Any] | None = None
    error: str | None = None
    message: str | None = None

    @property
    def ok(self) -> bool:
        """True when the key works."""
        return self.data is not None


async def run_self_test(api: ASGIApp, key: str, *, lang: str) -> SelfTest:
    """Call ``GET /api/v1/me`` with ``key`` as the Bearer token."""
    key = key.strip()
    if not key or not set(key) <= _PRINTABLE:
        # Not sendable as one header value; the API would call it an invalid key too.
        return SelfTest(401, error="INVALID_API_KEY")
    # Imported here: httpx pulls in its command line (click, rich, pygments), megabytes that
    # every worker would carry for a page few people open.
    import httpx

    transport = httpx.ASGITransport(app=api)
    async with httpx.AsyncClient(transport=transport, base_url="http://kliqs.internal") as client:
        response = await client.get(
            "/api/v1/me",
            headers={"Authorization": f"Bearer {key}", "Accept-Language": lang},
        )
    body = response.json()
    if body.get("success"):
        return SelfTest(response.status_code, data=body["data"])
    return SelfTest(response.status_code, error=body.get("error"), message=body.get("message"))
