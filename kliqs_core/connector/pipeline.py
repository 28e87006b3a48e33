"""The per-product state machine: received -> shortened -> written_back -> notified.

One run claims the product (see :mod:`~kliqs_core.connector.claims`), then does the next step
again and again until the product is notified or a step fails. Each step checks what is
stored before it acts and stores its result before the next one starts, so a run killed at
any point is finished by the next run without repeating what was done:

- **shorten**: never when a short URL is stored. The create-link request of the current slug
  attempt is stored *before* it is sent, with an ``Idempotency-Key`` derived from (platform,
  shop, product id, slug attempt), so a resent request is replayed by the API, not doubled.
- **write back**: the platform's idempotent ``write_back``.
- **notify**: the registered notifiers (idempotent too), or nothing.
"""

from __future__ import annotations

import hashlib
import logging
import os
import random
import socket
import uuid
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, Protocol

from kliqs_core.connector.claims import Claim, claim_product
from kliqs_core.connector.db import Database
from kliqs_core.connector.models import ProductState, utcnow
from kliqs_core.connector.notify import registered_notifiers
from kliqs_core.connector.outcomes import (
    Fail,
    Outcome,
    Park,
    StepError,
    Transient,
    backoff_delay,
    classify_kliqs_error,
    classify_platform_error,
)
from kliqs_core.connector.platforms import (
    Platform,
    PlatformError,
    UnknownPlatformError,
    get_platform,
)
from kliqs_core.connector.records import ProductRecord
from kliqs_core.connector.settings import ConnectorSettings, SlugStrategy
from kliqs_core.errors import (
    InvalidSlugError,
    KliqsError,
    ReservedSlugError,
    SlugAlreadyExistsError,
)
from kliqs_core.slugs import is_valid_slug, slugify, with_suffix

__all__ = [
    "LinkCreator",
    "PipelineConfig",
    "choose_slug",
    "idempotency_key",
    "new_worker_id",
    "run_product",
]

log = logging.getLogger(__name__)

_TITLE_MAX = 200  # the API's limit on a link title


class CreatedLink(Protocol):
    """The parts of :class:`kliqs_core.models.Link` the connector keeps."""

    @property
    def id(self) -> str: ...
    @property
    def short_code(self) -> str: ...
    @property
    def short_url(self) -> str: ...


class LinkCreator(Protocol):
    """What the pipeline needs of :class:`kliqs_core.KliqsClient`."""

    def create_link(
        self,
        url: str,
        *,
        slug: str | None = None,
        title: str | None = None,
        idempotency_key: str | None = None,
    ) -> CreatedLink: ...


@dataclass(frozen=True)
class PipelineConfig:
    """The pipeline's knobs (from :class:`~kliqs_core.connector.settings.ConnectorSettings`)."""

    slug_strategy: SlugStrategy = "title"
    slug_max_attempts: int = 10
    lease_seconds: float = 300.0
    grace_seconds: float = 120.0
    retry_base: float = 5.0
    retry_cap: float = 600.0
    max_attempts: int = 10

    @classmethod
    def from_settings(cls, settings: ConnectorSettings) -> PipelineConfig:
        """The pipeline config of the given settings."""
        return cls(
            slug_strategy=settings.connector_slug_strategy,
            slug_max_attempts=settings.connector_slug_max_attempts,
            lease_seconds=settings.connector_lease_seconds,
            grace_seconds=settings.connector_sweep_grace,
            retry_base=settings.connector_retry_base,
            retry_cap=settings.connector_retry_cap,
            max_attempts=settings.connector_max_attempts,
        )


@dataclass(frozen=True)
class _Run:
    claim: Claim
    client: Callable[[], LinkCreator]
    config: PipelineConfig
    jitter: Callable[[], float]


def new_worker_id() -> str:
    """A claim owner id unique to one run: host, pid and a random part."""
    return f"{socket.gethostname()}:{os.getpid()}:{uuid.uuid4().hex[:12]}"


def idempotency_key(platform: str, shop: str, product_id: str, slug_attempt: int) -> str:
    """The ``Idempotency-Key`` of one product's create-link request for one slug attempt."""
    raw = "\x1f".join((platform, shop, product_id, str(slug_attempt)))
    return "kliqs-connector-" + hashlib.sha256(raw.encode("utf-8")).hexdigest()[:40]


def choose_slug(
    title: str, attempt: int, *, strategy: SlugStrategy, max_attempts: int
) -> str | None:
    """The slug to ask for: the title's slug, then ``-2``, ``-3``...; ``None`` lets Kliqs pick.

    ``None`` too when the strategy is ``none``, the title gives no valid slug (another
    script, too short) or ``max_attempts`` candidates were taken already.
    """
    if strategy == "none" or attempt >= max_attempts:
        return None
    candidate = with_suffix(slugify(title), attempt + 1)
    return candidate if is_valid_slug(candidate) else None


def run_product(
    product_pk: int,
    *,
    database: Database,
    client: Callable[[], LinkCreator],
    config: PipelineConfig,
    worker: str | None = None,
    jitter: Callable[[], float] = random.random,
) -> Outcome:
    """Claim the product and drive it as far as it goes; ``client`` is called only to shorten."""
    claim = claim_product(
        database,
        product_pk,
        worker=worker or new_worker_id(),
        lease_seconds=config.lease_seconds,
        grace_seconds=config.grace_seconds,
    )
    if claim is None:
        return Outcome("skipped")
    try:
        return _drive(_Run(claim, client, config, jitter))
    finally:
        claim.release()


def _drive(run: _Run) -> Outcome:
    # Every pass either moves one state forward or uses up one slug attempt.
    for _ in range(run.config.slug_max_attempts + 8):
        record = run.claim.load()
        if record.state == ProductState.NOTIFIED:
            log.info("product %s (%s %s) done", record.id, record.platform, record.product_id)
            return Outcome("done", record.state)
        step = _STEPS.get(record.state)
        if step is None:
            return Outcome("skipped", record.state)
        try:
            moved = step(record, run)
        except StepError as error:
            return _settle(run, record, error)
        except Exception as exc:  # a bug or an untyped error in a plug-in: retry, then fail
            log.exception("product %s: unexpected error in step %s", record.id, record.state)
            return _settle(run, record, Transient("UNEXPECTED_ERROR", repr(exc)[:500]))
        if not moved:
            return Outcome("lost", record.state)
    raise RuntimeError(f"product {run.claim.product_pk}: no progress after many steps")


def _settle(run: _Run, record: ProductRecord, error: StepError) -> Outcome:
    claim, state = run.claim, record.state
    if isinstance(error, Park):
        log.warning("product %s parked: %s (until %s)", record.id, error, error.until)
        ok = claim.park(state, error.code, error.message, error.until)
        return Outcome("parked" if ok else "lost", ProductState.PARKED, error.code)
    if isinstance(error, Transient) and record.attempts + 1 < run.config.max_attempts:
        countdown = backoff_delay(
            record.attempts,
            base=run.config.retry_base,
            cap=run.config.retry_cap,
            retry_after=error.retry_after,
            jitter=run.jitter,
        )
        log.info("product %s: %s; retry in %.1fs", record.id, error, countdown)
        ok = claim.retry_later(state, error.code, error.message, countdown)
        return Outcome("retry" if ok else "lost", state, error.code, countdown)
    message = error.message
    if isinstance(error, Transient):
        message = f"gave up after {record.attempts + 1} attempts: {message}"
    log.error("product %s failed at %s: %s %s", record.id, state, error.code, message)
    ok = claim.fail(state, error.code, message)
    return Outcome("failed" if ok else "lost", ProductState.FAILED, error.code)


def _platform(record: ProductRecord) -> Platform:
    try:
        return get_platform(record.platform)
    except UnknownPlatformError as exc:
        raise Fail("PLATFORM_NOT_REGISTERED", str(exc)) from exc


def _shorten(record: ProductRecord, run: _Run) -> bool:
    if record.short_url:  # stored by an earlier run: never a second link
        return run.claim.advance(
            ProductState.RECEIVED, ProductState.SHORTENED, shortened_at=utcnow()
        )
    request = record.shorten_request
    if request is None or request.get("attempt") != record.slug_attempt:
        request = _build_request(record, run.config)
        # Stored before sending: a crash after the API created the link resends this exact
        # body and key, and the API answers with the same link.
        if not run.claim.update(ProductState.RECEIVED.value, shorten_request=request):
            return False
    try:
        link = run.client().create_link(
            request["url"],
            slug=request["slug"],
            title=request["title"],
            idempotency_key=request["idempotency_key"],
        )
    except (SlugAlreadyExistsError, ReservedSlugError) as exc:
        return _next_slug(run, request, exc, record.slug_attempt + 1)
    except InvalidSlugError as exc:
        return _next_slug(run, request, exc, run.config.slug_max_attempts)
    except KliqsError as exc:
        raise classify_kliqs_error(exc) from exc
    return run.claim.advance(
        ProductState.RECEIVED,
        ProductState.SHORTENED,
        short_url=link.short_url,
        link_id=link.id,
        short_code=link.short_code,
        shortened_at=utcnow(),
    )


def _build_request(record: ProductRecord, config: PipelineConfig) -> dict[str, Any]:
    try:
        url = _platform(record).product_url(record)
    except PlatformError as exc:
        raise classify_platform_error(exc) from exc
    slug = choose_slug(
        record.title,
        record.slug_attempt,
        strategy=config.slug_strategy,
        max_attempts=config.slug_max_attempts,
    )
    return {
        "attempt": record.slug_attempt,
        "url": url,
        "slug": slug,
        "title": record.title[:_TITLE_MAX] or None,
        "idempotency_key": idempotency_key(
            record.platform, record.shop, record.product_id, record.slug_attempt
        ),
    }


def _next_slug(run: _Run, request: dict[str, Any], exc: KliqsError, attempt: int) -> bool:
    if request["slug"] is None:  # the server chose the code itself: nothing left to vary
        raise Fail(exc.code or type(exc).__name__, exc.message) from exc
    log.info("slug %r refused (%s); trying the next one", request["slug"], exc.code)
    return run.claim.update(ProductState.RECEIVED.value, slug_attempt=attempt, shorten_request=None)


def _write_back(record: ProductRecord, run: _Run) -> bool:
    assert record.short_url is not None
    try:
        _platform(record).write_back(record, record.short_url)
    except PlatformError as exc:
        raise classify_platform_error(exc) from exc
    return run.claim.advance(
        ProductState.SHORTENED, ProductState.WRITTEN_BACK, written_back_at=utcnow()
    )


def _notify(record: ProductRecord, run: _Run) -> bool:
    for name, notifier in registered_notifiers():
        try:
            notifier(record)
        except PlatformError as exc:
            log.info("notifier %s failed for product %s: %s", name, record.id, exc)
            raise classify_platform_error(exc) from exc
    return run.claim.advance(ProductState.WRITTEN_BACK, ProductState.NOTIFIED, notified_at=utcnow())


_STEPS: dict[str, Callable[[ProductRecord, _Run], bool]] = {
    ProductState.RECEIVED.value: _shorten,
    ProductState.SHORTENED.value: _write_back,
    ProductState.WRITTEN_BACK.value: _notify,
}
