"""Helpers for the bot's tests: settings, a movable clock, rows, and a recording Graph API mock."""

from __future__ import annotations

import itertools
import json
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any

import httpx
from sqlalchemy import select

from integrations.whatsapp_bot.client import WhatsAppClient
from integrations.whatsapp_bot.context import Bot
from integrations.whatsapp_bot.models import Delivery, Subscriber, SubscriberStatus
from integrations.whatsapp_bot.settings import WhatsAppSettings, load_settings
from kliqs_core.connector.db import Database
from kliqs_core.connector.models import Product

PHONE_ID = "106540352242922"
TOKEN = "test-token-not-real"
APP_SECRET = "s3cret"
VERIFY_TOKEN = "verify-me"
TEMPLATE = "produk_baru"


def wa_settings(**overrides: Any) -> WhatsAppSettings:
    """Settings as a deployment would have them, without reading the environment."""
    values: dict[str, Any] = {
        "phone_number_id": PHONE_ID,
        "access_token": TOKEN,
        "app_secret": APP_SECRET,
        "verify_token": VERIFY_TOKEN,
        "template_name": TEMPLATE,
        "template_language": "id",
        "retry_base": 1.0,
        "claim_seconds": 30.0,
        "resend_grace": 10.0,
        "max_attempts": 4,
        **overrides,
    }
    return load_settings(_env_file=None, **values)


#: When ``add_subscriber``'s people consented: before any ``Clock`` starts.
CONSENT_AT = datetime(2026, 1, 1, tzinfo=UTC)


class Clock:
    """An aware UTC clock that moves only when told to."""

    def __init__(self, start: datetime = datetime(2026, 11, 24, 9, 0, tzinfo=UTC)) -> None:
        self.now = start

    def __call__(self) -> datetime:
        return self.now

    def advance(self, seconds: float) -> None:
        self.now += timedelta(seconds=seconds)


def graph_error(code: int, http_status: int = 400, message: str | None = None) -> httpx.Response:
    """A Graph API error answer in Meta's documented envelope."""
    error = {
        "message": message or f"(#{code}) error",
        "type": "OAuthException",
        "code": code,
        "error_data": {"messaging_product": "whatsapp", "details": "details"},
        "fbtrace_id": "AbCdEf",
    }
    return httpx.Response(http_status, json={"error": error})


@dataclass
class Graph:
    """A MockTransport handler: records sends, answers from ``answers`` first, else accepts."""

    answers: list[httpx.Response | Exception] = field(default_factory=list)
    requests: list[httpx.Request] = field(default_factory=list)
    _ids: Any = field(default_factory=lambda: itertools.count(1))

    def __call__(self, request: httpx.Request) -> httpx.Response:
        self.requests.append(request)
        if self.answers:
            answer = self.answers.pop(0)
            if isinstance(answer, Exception):
                raise answer
            return answer
        to = json.loads(request.content)["to"]
        wamid = f"wamid.TEST{next(self._ids):06d}"
        return httpx.Response(
            200,
            json={
                "messaging_product": "whatsapp",
                "contacts": [{"input": to, "wa_id": to}],
                "messages": [{"id": wamid, "message_status": "accepted"}],
            },
        )

    @property
    def bodies(self) -> list[dict[str, Any]]:
        """The JSON bodies sent, oldest first."""
        return [json.loads(request.content) for request in self.requests]

    def client(self) -> WhatsAppClient:
        """A client on this mock."""
        http = httpx.Client(transport=httpx.MockTransport(self))
        return WhatsAppClient(PHONE_ID, TOKEN, http=http)


@dataclass
class Harness:
    """A :class:`Bot` on a test database, its Graph mock, clock and queued work."""

    bot: Bot
    graph: Graph
    clock: Clock
    queued: list[tuple[str, int, float]]

    @property
    def database(self) -> Database:
        return self.bot.database


def make_harness(database: Database, **settings: Any) -> Harness:
    """A bot with no token bucket, a fixed jitter and a list for queued work."""
    graph, clock = Graph(), Clock()
    queued: list[tuple[str, int, float]] = []
    client = graph.client()
    bot = Bot(
        settings=wa_settings(**settings),
        database=database,
        client=lambda: client,
        bucket=None,
        sweep_grace=5.0,
        clock=clock,
        jitter=lambda: 0.5,
        enqueue=lambda task, pk, countdown: queued.append((task, pk, countdown)),
    )
    return Harness(bot, graph, clock, queued)


_product_ids = itertools.count(1)


def add_product(
    database: Database,
    title: str,
    short_url: str | None,
    *,
    state: str = "written_back",
    when: datetime | None = None,
) -> int:
    """Store a product row as the connector would have it after the write-back."""
    now = when or datetime.now(UTC)
    with database.transaction() as session:
        row = Product(
            platform="fakeshop",
            shop="toko.test",
            product_id=str(next(_product_ids)),
            title=title,
            product_url="https://toko.test/p",
            data={},
            state=state,
            short_url=short_url,
            slug_attempt=0,
            attempts=0,
            sweep_count=0,
            created_at=now,
            updated_at=now,
            written_back_at=now if short_url else None,
        )
        session.add(row)
        session.flush()
        return row.id


def add_subscriber(
    database: Database,
    phone: str,
    *,
    last_inbound_at: datetime | None = None,
    status: str = SubscriberStatus.ACTIVE.value,
    consent_at: datetime = CONSENT_AT,
) -> None:
    """Store a subscriber directly, consenting at ``consent_at``.

    The default lies before every test clock's start: a consent taken at the real time would
    be "later" than the fake clock's events and make them look stale (an opt-out older than the
    consent changes nothing).
    """
    now = consent_at
    with database.transaction() as session:
        session.add(
            Subscriber(
                phone=phone,
                status=status,
                consent_at=consent_at,
                consent_source="test",
                last_inbound_at=last_inbound_at,
                created_at=now,
                updated_at=now,
            )
        )


def subscriber(database: Database, phone: str) -> Subscriber:
    """The stored subscriber row (detached)."""
    with database.transaction() as session:
        row = session.scalars(select(Subscriber).where(Subscriber.phone == phone)).one()
        session.expunge(row)
        return row


def deliveries(database: Database, product_pk: int | None = None) -> list[Delivery]:
    """Delivery rows (of one product), by id."""
    query = select(Delivery).order_by(Delivery.id)
    if product_pk is not None:
        query = query.where(Delivery.product_pk == product_pk)
    with database.transaction() as session:
        rows = list(session.scalars(query))
        session.expunge_all()
        return rows


def run_queued(harness: Harness, handlers: dict[str, Callable[[int], object]]) -> None:
    """Run queued work inline until none is left (countdowns are not waited for)."""
    while harness.queued:
        task, pk, _ = harness.queued.pop(0)
        handlers[task](pk)


class AppClient:
    """Calls an ASGI app over httpx's ASGITransport, synchronously (one event loop per call)."""

    def __init__(self, app: Any) -> None:
        self.app = app

    def request(self, method: str, path: str, **kwargs: Any) -> httpx.Response:
        import asyncio

        async def go() -> httpx.Response:
            transport = httpx.ASGITransport(app=self.app)
            async with httpx.AsyncClient(transport=transport, base_url="http://c.test") as client:
                return await client.request(method, path, **kwargs)

        return asyncio.run(go())

    def get(self, path: str, **kwargs: Any) -> httpx.Response:
        return self.request("GET", path, **kwargs)

    def post(self, path: str, **kwargs: Any) -> httpx.Response:
        return self.request("POST", path, **kwargs)

    def put(self, path: str, **kwargs: Any) -> httpx.Response:
        return self.request("PUT", path, **kwargs)
