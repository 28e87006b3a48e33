"""What a recording scenario works with: the live server, accounts, SDK clients, the recorder.

The server's clock stands still during each request of a scenario: request ``n`` (from 0)
sees ``FIXED_NOW + n seconds`` however long it takes (an Argon2 hash on a busy machine may
take a second). Times, ``Retry-After`` and ``X-RateLimit-Reset`` are then the same on every
re-recording, links made one after the other still have increasing ``created_at``, and a
month boundary never falls inside a recording.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Iterator
from contextlib import AbstractContextManager, contextmanager
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta, tzinfo
from pathlib import Path
from types import SimpleNamespace
from typing import ClassVar

import requests
import responses
from kliqs_testing.servers import ApiAccount, ThreadServer
from sdk_recorder import SdkRecorder
from sqlalchemy import delete, func, insert, select

from kliqs_core import KliqsClient, Link, RetryPolicy
from server import clock
from server.clock import period_of
from server.db.models import Base, Click, Usage
from server.services import accounts, burst

__all__ = ["FIXED_NOW", "STEP", "PinnedClock", "Stage", "frozen_burst_clock", "pinned", "wipe"]

#: The server's time at the first request of every scenario.
FIXED_NOW = datetime(2026, 11, 24, 3, 15, tzinfo=UTC)
#: How far the server's clock moves between two requests of a scenario.
STEP = timedelta(seconds=1)


class _StoppedDatetime(datetime):
    """``datetime`` whose ``now()`` is :attr:`instant`, put in place of ``server.clock``'s."""

    instant: ClassVar[datetime] = FIXED_NOW

    @classmethod
    def now(cls, tz: tzinfo | None = None) -> datetime:
        return cls.instant if tz is None else cls.instant.astimezone(tz)


class PinnedClock:
    """Sets the in-process server's clock before each request (``SdkRecorder.before_send``)."""

    def __init__(self) -> None:
        self.sent = 0

    def reset(self) -> None:
        """Start a scenario: the next request sees :data:`FIXED_NOW`."""
        self.sent = 0
        _StoppedDatetime.instant = FIXED_NOW

    def __call__(self) -> None:
        _StoppedDatetime.instant = FIXED_NOW + STEP * self.sent
        self.sent += 1


@dataclass
class Stage:
    """One scenario's view of the live server; every ``requests`` call goes through
    ``recorder`` but only those inside :meth:`capture` are written to the fixture."""

    server: ThreadServer
    recorder: SdkRecorder
    name: str
    workdir: Path
    _clients: list[KliqsClient] = field(default_factory=list)

    def account(
        self, plan: str = "business", *, email: str | None = None, key_name: str = "recorder"
    ) -> ApiAccount:
        """A fresh account on ``plan`` with one key; the e-mail defaults to the scenario's."""
        email = email or f"{self.name.replace('/', '-').lower()}@marketku.id"
        with self.server.engine.begin() as conn:
            account_id = accounts.create_account(conn, email, plan=plan)
            key_id, key = accounts.create_key(conn, account_id, key_name)
        return ApiAccount(account_id, email, key, key_id)

    def revoke(self, account: ApiAccount) -> None:
        """Revoke the account's key, as the dashboard does."""
        with self.server.engine.begin() as conn:
            accounts.revoke_key(conn, account.key_id)

    def set_plan(self, account: ApiAccount, plan: str) -> None:
        """Move the account to another plan, as an operator does."""
        with self.server.engine.begin() as conn:
            accounts.set_plan(conn, account.email, plan)

    def use_requests(self, account: ApiAccount, count: int) -> None:
        """Mark ``count`` of this month's requests used (faster than making them, and
        without meeting the burst limit on the way)."""
        period = period_of(FIXED_NOW)
        with self.server.engine.begin() as conn:
            conn.execute(delete(Usage).where(Usage.account_id == account.id))
            conn.execute(insert(Usage).values(
                account_id=account.id, period=period, requests_used=count))

    def client(
        self, key: str, *, max_retries: int = 0, retry_policy: RetryPolicy | None = None
    ) -> KliqsClient:
        """The real SDK pointed at the live server (closed when the scenario ends)."""
        kliqs = KliqsClient(
            key, base_url=self.server.url, max_retries=max_retries, retry_policy=retry_policy
        )
        self._clients.append(kliqs)
        return kliqs

    def capture(self) -> AbstractContextManager[list[responses.BaseResponse]]:
        """The block whose requests end up in the fixture."""
        return self.recorder.capture()

    def keep_last(self, count: int) -> None:
        """Drop every captured answer but the last ``count``."""
        del self.recorder.captured[:-count]

    def click(self, code: str, *, agent: str, referer: str | None = None, country: str = "ID",
              ip: str = "203.0.113.7") -> None:
        """Visit ``/{code}`` as a browser would, without following the redirect."""
        headers = {"User-Agent": agent, "CF-IPCountry": country, "X-Forwarded-For": ip}
        if referer is not None:
            headers["Referer"] = referer
        answer = requests.get(f"{self.server.url}/{code}", headers=headers,
                              allow_redirects=False, timeout=10)
        answer.raise_for_status()

    def wait_for_clicks(self, link: Link, count: int, timeout: float = 10) -> None:
        """Wait until the server stored ``count`` clicks of ``link`` (they are batched)."""
        query = select(func.count()).select_from(Click).where(Click.link_id == link.id)
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            with self.server.engine.connect() as conn:
                if conn.execute(query).scalar_one() >= count:
                    return
            time.sleep(0.05)
        raise TimeoutError(f"{self.name}: the server did not store {count} clicks in time")

    def close(self) -> None:
        """Close every SDK client made here."""
        for kliqs in self._clients:
            kliqs.close()


@contextmanager
def frozen_burst_clock() -> Iterator[Callable[[float], None]]:
    """Stop the time of the server's burst limiter (in this process); yields ``advance``.

    Its token buckets then refill only when told, so exactly ``burst_limit`` requests pass
    before ``RATE_LIMITED``, on every recording, and a ``Retry-After`` wait takes no time.
    """
    now = [time.monotonic()]

    def advance(seconds: float) -> None:
        now[0] += seconds

    # The limiter reads ``time.monotonic()`` through its module's ``time``: swap that name.
    setattr(burst, "time", SimpleNamespace(monotonic=lambda: now[0], time=time.time))
    try:
        yield advance
    finally:
        setattr(burst, "time", time)


def wipe(server: ThreadServer) -> None:
    """Empty every table but the server's secrets: each scenario starts from nothing.

    Codes live in one namespace across accounts, so ``vps-murah`` is free again only here.
    """
    with server.engine.begin() as conn:
        for table in reversed(Base.metadata.sorted_tables):
            if table.name != "server_secrets":
                conn.execute(table.delete())


@contextmanager
def pinned(clock_hook: PinnedClock) -> Iterator[None]:
    """Stop the server's clock for a scenario (at :data:`FIXED_NOW`, moved by ``clock_hook``)
    and give the real clock back afterwards."""
    clock_hook.reset()
    clock.set_offset(0)
    # server.clock.utcnow() reads ``datetime.now`` through its module's ``datetime``.
    setattr(clock, "datetime", _StoppedDatetime)
    try:
        yield
    finally:
        setattr(clock, "datetime", datetime)
