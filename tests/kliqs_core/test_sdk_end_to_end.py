"""The SDK's promises against the live server over real HTTP: slug suffixes, the monthly quota,
and a create retried after the network lost its answer that makes exactly one link."""

from __future__ import annotations

import logging
import time
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from urllib.parse import urlsplit

import pytest
from kliqs_testing.servers import ApiAccount, ProcessServer, ServerBase, ThreadServer
from sdk_proxy import FaultyProxy

from kliqs_core import ApiLimitReachedError, KliqsClient, RetryPolicy, SlugAlreadyExistsError
from server import clock

PRODUCT = "https://marketku.id/products/42"


def _client(server: ServerBase | FaultyProxy, account: ApiAccount, **kwargs: object) -> KliqsClient:
    return KliqsClient(account.key, base_url=server.url, **kwargs)  # type: ignore[arg-type]


def _all_links(server: ServerBase, account: ApiAccount) -> list[str]:
    """The ids ``GET /api/v1/links`` lists, straight from the server (no proxy)."""
    with _client(server, account) as direct:
        return [link.id for link in direct.list_links(limit=100)]


# -- slug collisions ---------------------------------------------------------------------------


def test_a_taken_slug_is_resolved_to_the_next_free_suffix(live_server: ProcessServer) -> None:
    account = live_server.new_account("business")
    with _client(live_server, account) as kliqs:
        first = kliqs.create_link(PRODUCT, slug="kopi-gayo")
        with pytest.raises(SlugAlreadyExistsError):
            kliqs.create_link(PRODUCT, slug="kopi-gayo")

        second = kliqs.create_link_with_unique_slug(PRODUCT, slug="kopi-gayo")
        third = kliqs.create_link_with_unique_slug(PRODUCT, slug="Kopi-Gayo")

    assert (first.short_code, second.short_code, third.short_code) == (
        "kopi-gayo", "kopi-gayo-2", "kopi-gayo-3")
    assert sorted(_all_links(live_server, account)) == sorted([first.id, second.id, third.id])


# -- the monthly quota -------------------------------------------------------------------------


def _move_clock(to: datetime) -> None:
    clock.set_offset((to - datetime.now(UTC)).total_seconds())


@pytest.mark.parametrize(
    ("server_now", "next_reset"),
    [
        (datetime(2027, 2, 14, 10, 0, tzinfo=UTC), datetime(2027, 3, 1, tzinfo=UTC)),
        (datetime(2027, 12, 31, 23, 55, tzinfo=UTC), datetime(2028, 1, 1, tzinfo=UTC)),
    ],
    ids=["mid-february", "new-year's-eve"],
)
def test_quota_exhaustion_raises_api_limit_reached_with_the_next_monthly_reset(
    thread_server: ThreadServer, server_now: datetime, next_reset: datetime
) -> None:
    _move_clock(server_now)
    account = thread_server.new_account("free")  # 30 requests a month
    waits: list[float] = []

    def sleep(seconds: float) -> None:
        waits.append(seconds)
        time.sleep(seconds)

    # The SDK waits out RATE_LIMITED (20 a second) on its own; API_LIMIT_REACHED never.
    with _client(thread_server, account, retry_policy=RetryPolicy(sleep=sleep)) as kliqs:
        for _ in range(30):
            kliqs.list_links_page(limit=1)
        waits_before = list(waits)
        with pytest.raises(ApiLimitReachedError) as caught:
            kliqs.create_link(PRODUCT)

        assert waits == waits_before  # refused at once, not retried
        assert kliqs.me().usage.requests_used == 30  # /me is never counted
        error = caught.value
        assert (error.status, error.code) == (429, "API_LIMIT_REACHED")
        assert error.resets_at == next_reset
        assert error.retry_after is not None
        assert abs(error.retry_after - (next_reset - server_now).total_seconds()) < 60

        _move_clock(next_reset + timedelta(seconds=1))
        assert kliqs.create_link(PRODUCT).short_code  # a new month, a new quota


# -- a create whose answer was lost ------------------------------------------------------------


@pytest.fixture
def account(live_server: ProcessServer) -> ApiAccount:
    return live_server.new_account("business")


@pytest.fixture(params=["drop", "stall"])
def proxy(request: pytest.FixtureRequest, live_server: ProcessServer) -> Iterator[FaultyProxy]:
    """A proxy in front of the server that loses the first answer (reset or silence)."""
    upstream = urlsplit(live_server.url)
    assert upstream.hostname is not None and upstream.port is not None
    with FaultyProxy((upstream.hostname, upstream.port), fault=request.param) as faulty:
        yield faulty


# What the SDK saw when the answer was lost: a reset connection, or no answer in time.
_FAILURE = {"drop": "(ConnectionError)", "stall": "(ReadTimeout)"}


def test_a_create_retried_after_the_answer_was_lost_makes_exactly_one_link(
    proxy: FaultyProxy,
    live_server: ProcessServer,
    account: ApiAccount,
    caplog: pytest.LogCaptureFixture,
) -> None:
    caplog.set_level(logging.INFO, logger="kliqs_core")
    waits: list[float] = []
    policy = RetryPolicy(sleep=waits.append)
    # A 1 s read timeout lets the "stall" proxy's silence end in a timeout quickly.
    slug = f"kaos-polos-{proxy.fault}"  # codes are one namespace on the module's server
    with _client(proxy, account, timeout=1.0, max_retries=2, retry_policy=policy) as kliqs:
        link = kliqs.create_link(PRODUCT, slug=slug, title="Kaos Polos")

    lost, replayed = proxy.exchanges
    assert lost.delivered is False and lost.response.start_line.endswith("201 Created")
    assert replayed.delivered is True
    assert replayed.response.headers.get("idempotent-replayed") == "true"
    key = lost.request.headers["idempotency-key"]
    assert key and replayed.request.headers["idempotency-key"] == key
    assert lost.request.body == replayed.request.body
    assert len(waits) == 1  # one retry, after one backoff
    retries = [r.getMessage() for r in caplog.records if "retry" in r.getMessage()]
    assert len(retries) == 1 and _FAILURE[proxy.fault] in retries[0]
    assert link.short_code == slug
    assert _all_links(live_server, account) == [link.id]
