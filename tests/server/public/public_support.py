"""Helpers of the public-side tests."""

from __future__ import annotations

import json
import time
import uuid
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

import httpx
from sqlalchemy import Engine, func, select

from kliqs_testing.servers import ApiAccount
from server.db.models import Click, ClickBatch, Link
from server.public.spool import SUFFIX

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


def child_pids(pid: int) -> list[int]:
    """The direct children of process ``pid`` (Linux ``/proc``)."""
    found: list[int] = []
    for children in Path(f"/proc/{pid}/task").glob("*/children"):
        try:
            found.extend(int(child) for child in children.read_text().split())
        except FileNotFoundError:  # the thread ended meanwhile
            pass
    return found


def command_line(pid: int) -> str:
    """The command line of process ``pid`` ("" once it is gone)."""
    try:
        return Path(f"/proc/{pid}/cmdline").read_bytes().replace(b"\0", b" ").decode()
    except (FileNotFoundError, ProcessLookupError):
        return ""


def alive(pid: int) -> bool:
    """True while process ``pid`` runs (a zombie, killed but not yet reaped, is not)."""
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
    except (FileNotFoundError, ProcessLookupError):
        return False
    return stat.rsplit(")", 1)[1].split()[0] != "Z"


def ingester_pid(server_pid: int, timeout: float = 10) -> int:
    """The click ingester child of the ``kliqs serve`` process ``server_pid``."""
    deadline = time.monotonic() + timeout
    while True:
        found = [pid for pid in child_pids(server_pid)
                 if "server.public.ingest" in command_line(pid)]
        if found:
            assert len(found) == 1, found
            return found[0]
        assert time.monotonic() < deadline, "no click ingester child found"
        time.sleep(0.05)


def click_many(url: str, code: str, n: int) -> None:
    """``n`` GET redirects of ``code`` from a few threads (302 asserted)."""
    with httpx.Client(base_url=url, timeout=30) as http:
        with ThreadPoolExecutor(8) as pool:
            statuses = set(pool.map(lambda _: http.get(f"/{code}").status_code, range(n)))
    assert statuses == {302}


def spooled_visits(spool_dir: Path, engine: Engine) -> int:
    """Clicks waiting in the spool's files whose batch is not recorded as stored."""
    if not spool_dir.is_dir():
        return 0
    with engine.connect() as conn:
        stored = set(conn.execute(select(ClickBatch.name)).scalars())
    return sum(len(json.loads(path.read_bytes())) for path in spool_dir.glob(f"*{SUFFIX}")
               if path.name not in stored)
