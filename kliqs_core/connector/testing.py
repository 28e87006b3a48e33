"""Test helpers for the connector and the integrations built on it.

- :class:`FakeKliqsClient`: ``create_link`` in memory, honouring ``Idempotency-Key`` the way
  the API does, with taken slugs and scripted errors.
- :class:`FakePlatform`: a platform that records its write-backs and can fail on cue.
- :func:`connector_runtime`: the runtime on a fresh SQLite database in a temporary folder,
  queueing into a list instead of Celery; ``run_queued()`` drives the queued products inline.
- :func:`in_one_batch`: make a batch writer take several stores as one batch.

    with connector_runtime(tmp_path) as rt:
        response = client.post("/webhooks/woocommerce", content=body, headers=headers)
        rt.run_queued()
        assert rt.client.links ...
"""

from __future__ import annotations

import asyncio
import itertools
import threading
from collections.abc import Awaitable, Callable, Iterable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from kliqs_core.connector import runtime
from kliqs_core.connector.db import Database, upgrade
from kliqs_core.connector.outcomes import Outcome
from kliqs_core.connector.pipeline import PipelineConfig, run_product
from kliqs_core.connector.platforms import register_platform, unregister_platform
from kliqs_core.connector.records import ProductRecord
from kliqs_core.connector.settings import ConnectorSettings
from kliqs_core.connector.writer import BatchWriter
from kliqs_core.errors import IdempotencyKeyReusedError, SlugAlreadyExistsError

__all__ = [
    "FakeKliqsClient",
    "FakeLink",
    "FakePlatform",
    "TestRuntime",
    "connector_runtime",
    "in_one_batch",
]


@dataclass(frozen=True)
class FakeLink:
    """The fields of a created link the connector keeps."""

    id: str
    short_code: str
    short_url: str
    destination_url: str
    title: str | None = None


@dataclass
class FakeKliqsClient:
    """An in-memory ``create_link`` with the API's idempotency and slug-conflict rules."""

    base_url: str = "https://kliqs.test"
    taken_slugs: set[str] = field(default_factory=set)
    #: Errors to raise, first one first, before anything else happens on a call.
    errors: list[Exception] = field(default_factory=list)
    links: dict[str, FakeLink] = field(default_factory=dict)
    calls: list[dict[str, Any]] = field(default_factory=list)
    _replays: dict[str, tuple[dict[str, Any], FakeLink]] = field(default_factory=dict)
    _ids: Iterator[int] = field(default_factory=lambda: itertools.count(1))

    def create_link(
        self,
        url: str,
        *,
        slug: str | None = None,
        title: str | None = None,
        idempotency_key: str | None = None,
        **extra: Any,
    ) -> FakeLink:
        """Create (or replay) a link; raise the next scripted error first."""
        body = {"url": url, "slug": slug, "title": title, **extra}
        self.calls.append({**body, "idempotency_key": idempotency_key})
        if self.errors:
            raise self.errors.pop(0)
        if idempotency_key is not None and idempotency_key in self._replays:
            first_body, link = self._replays[idempotency_key]
            if first_body != body:
                raise IdempotencyKeyReusedError(422, "IDEMPOTENCY_KEY_REUSED", "key reused")
            return link
        link = self._new_link(url, slug, title)
        if idempotency_key is not None:
            self._replays[idempotency_key] = (body, link)
        return link

    def _new_link(self, url: str, slug: str | None, title: str | None) -> FakeLink:
        number = next(self._ids)
        code = (slug or f"gen{number:04d}").lower()
        if code in self.taken_slugs:
            raise SlugAlreadyExistsError(409, "SLUG_ALREADY_EXISTS", f"slug {code} is taken")
        self.taken_slugs.add(code)
        link = FakeLink(f"link-{number}", code, f"{self.base_url}/{code}", url, title)
        self.links[link.id] = link
        return link


@dataclass
class FakePlatform:
    """A platform whose product URL is ``record.product_url`` and whose write-back is a list."""

    name: str = "fakeshop"
    errors: list[Exception] = field(default_factory=list)
    written: list[tuple[str, str]] = field(default_factory=list)

    def product_url(self, product: ProductRecord) -> str:
        """The stored URL, else ``https://<shop>/p/<id>``."""
        return product.product_url or f"https://{product.shop}/p/{product.product_id}"

    def write_back(self, product: ProductRecord, short_url: str) -> None:
        """Record ``(product_id, short_url)``; raise the next scripted error first."""
        if self.errors:
            raise self.errors.pop(0)
        self.written.append((product.product_id, short_url))


@dataclass
class TestRuntime:
    """What :func:`connector_runtime` set up."""

    __test__ = False  # not a pytest test class

    settings: ConnectorSettings
    database: Database
    client: FakeKliqsClient
    enqueued: list[int]

    def run_queued(self, *, config: PipelineConfig | None = None) -> list[Outcome]:
        """Run every queued product now (retries too, at once), until the queue is empty."""
        config = config or PipelineConfig.from_settings(self.settings)
        outcomes: list[Outcome] = []
        while self.enqueued:
            pk = self.enqueued.pop(0)
            outcome = run_product(
                pk, database=self.database, client=lambda: self.client, config=config
            )
            outcomes.append(outcome)
            if outcome.kind == "retry":
                self.enqueued.append(pk)
        return outcomes


@contextmanager
def connector_runtime(
    data_dir: Path, *, platform: FakePlatform | None = None, **settings: Any
) -> Iterator[TestRuntime]:
    """The runtime on a fresh SQLite database in ``data_dir``, queueing into a list.

    ``settings`` override :class:`ConnectorSettings` fields; the fast retry defaults keep
    ``run_queued`` quick. ``platform`` is registered for the duration.
    """
    runtime.reset()
    values: dict[str, Any] = {"data_dir": data_dir, "connector_retry_base": 0.01, **settings}
    config = ConnectorSettings(**values)
    database = Database(config.database_url)
    upgrade(database)
    client = FakeKliqsClient()
    enqueued: list[int] = []
    runtime.set_settings(config)
    runtime.set_database(database)
    runtime.set_enqueuer(enqueued.append)
    runtime.set_kliqs_client_factory(lambda _settings: client)
    if platform is not None:
        register_platform(platform)
    try:
        yield TestRuntime(config, database, client, enqueued)
    finally:
        if platform is not None:
            unregister_platform(platform.name)
        runtime.reset()


async def in_one_batch(writer: BatchWriter, calls: Iterable[Awaitable[Any]]) -> list[Any]:
    """Await ``calls`` (stores on ``writer``) so that the writer takes them as ONE batch.

    The writer is first held in a job of its own until every call has queued its store.
    Returns each call's result, or what it raised, in order.
    """
    entered, release = threading.Event(), threading.Event()

    def hold(_: object) -> None:
        entered.set()
        release.wait(10)

    held = asyncio.ensure_future(writer.run(hold))
    await _until(entered.is_set)
    waiting = [asyncio.ensure_future(call) for call in calls]
    await _until(lambda: writer.waiting >= len(waiting))
    release.set()
    await held
    return list(await asyncio.gather(*waiting, return_exceptions=True))


async def _until(condition: Callable[[], bool], timeout: float = 10.0) -> None:
    loop = asyncio.get_running_loop()
    deadline = loop.time() + timeout
    while not condition():
        if loop.time() > deadline:
            raise TimeoutError("the batch writer did not get there")
        await asyncio.sleep(0.001)
