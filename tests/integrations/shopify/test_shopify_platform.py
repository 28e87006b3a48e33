"""The worker's Shopify steps over real HTTP to the Admin stand-in: URL, write-back, failures."""

from __future__ import annotations

import time
from typing import Any

import pytest
from typer.testing import CliRunner

from kliqs_core.connector import ProductRecord, get_platform
from kliqs_core.connector.cli import connect_app
from kliqs_core.connector.pipeline import PipelineConfig, run_product
from kliqs_core.connector.testing import TestRuntime
from tests.integrations.shopify.shopify_testing import (
    PRIMARY_DOMAIN,
    SHOP,
    Deliver,
    TimedStandin,
    active_product,
    stored,
)


def queue(deliver: Deliver, standin: TimedStandin, product_id: int, title: str,
          **seed: str) -> None:
    """Seed the product in the shop and deliver its ``products/create``."""
    standin.add_product(product_id, title, **seed)
    assert deliver(active_product(product_id, title)).json()["data"]["status"] == "accepted"


def mutations(standin: TimedStandin) -> list[dict[str, str]]:
    """The metafields each ``metafieldsSet`` call asked for, in order."""
    return [m for call in standin.mutations for m in call["metafieldsSet"]]


def test_short_url_of_the_storefront_url_is_written_to_the_kliqs_metafield(
    rt: TestRuntime, deliver: Deliver, standin: TimedStandin
) -> None:
    queue(deliver, standin, 2001, "VPS Murah", handle="vps-murah")

    rt.run_queued()

    # No onlineStoreUrl: the primary domain plus /products/{handle}.
    assert rt.client.calls[0]["url"] == f"{PRIMARY_DOMAIN}/products/vps-murah"
    assert stored(2001).state == "notified"
    assert mutations(standin) == [{
        "ownerId": "gid://shopify/Product/2001", "namespace": "kliqs", "key": "short_url",
        "type": "url", "value": "https://kliqs.test/vps-murah"}]
    assert standin.short_url_of("gid://shopify/Product/2001") == "https://kliqs.test/vps-murah"


def test_online_store_url_is_preferred(
    rt: TestRuntime, deliver: Deliver, standin: TimedStandin
) -> None:
    queue(deliver, standin, 2002, "Kaos Polos",
          online_store_url="https://shop.example/products/kaos-polos-hitam")

    rt.run_queued()

    assert rt.client.calls[0]["url"] == "https://shop.example/products/kaos-polos-hitam"


def test_throttled_answer_is_waited_out_as_the_cost_figures_say(
    rt: TestRuntime, deliver: Deliver, standin: TimedStandin
) -> None:
    queue(deliver, standin, 2003, "Sepatu Lari")
    # 752 points wanted, 552 available, 100 restored per second: 2 s until it fits.
    standin.throttle_next(1, requested=752, available=552.0, restore_rate=100.0)

    outcomes = rt.run_queued()

    assert [o.kind for o in outcomes] == ["done"]
    first, second = standin.arrivals[0], standin.arrivals[1]
    assert 2.0 <= second - first < 6.0
    assert stored(2003).state == "notified" and len(mutations(standin)) == 1


def test_long_throttle_goes_back_to_the_queue_with_its_wait(
    rt: TestRuntime, deliver: Deliver, standin: TimedStandin
) -> None:
    queue(deliver, standin, 2004, "Kopi Gayo")
    # 1000 wanted, none available, 50 per second: 20 s, too long to hold a worker for.
    standin.throttle_next(1, requested=1000, available=0.0, restore_rate=50.0)
    started = time.monotonic()

    outcome = run_product(stored(2004).id, database=rt.database, client=lambda: rt.client,
                          config=PipelineConfig.from_settings(rt.settings))

    assert time.monotonic() - started < 10
    assert outcome.kind == "retry" and outcome.code == "SHOPIFY_THROTTLED"
    assert outcome.countdown is not None and outcome.countdown >= 20.0
    assert stored(2004).last_error_code == "SHOPIFY_THROTTLED"
    assert rt.client.calls == []  # stopped at the product URL, before shortening


def test_user_errors_fail_the_product_with_their_message_in_status(
    rt: TestRuntime, deliver: Deliver, standin: TimedStandin, monkeypatch: pytest.MonkeyPatch
) -> None:
    queue(deliver, standin, 2005, "Teh Tarik")
    standin.user_errors_next([{"field": ["metafields", "0", "value"], "code": "INVALID_VALUE",
                               "message": "Value must be a valid URL.", "elementIndex": 0}])

    rt.run_queued()

    product = stored(2005)
    assert product.state == "failed" and product.last_error_code == "SHOPIFY_USER_ERROR"
    assert product.last_error_message == (
        "SetShortlink refused: metafields.0.value: Value must be a valid URL. (INVALID_VALUE)")
    assert product.short_url == "https://kliqs.test/teh-tarik"  # kept: a retry only writes back
    monkeypatch.setenv("COLUMNS", "250")
    status = CliRunner().invoke(connect_app, ["status", "--platform", "shopify"])
    assert status.exit_code == 0, status.output
    assert "SHOPIFY_USER_ERROR" in status.output
    assert "Value must be a valid URL." in status.output


def test_bad_gateway_is_retried_then_succeeds(
    rt: TestRuntime, deliver: Deliver, standin: TimedStandin
) -> None:
    queue(deliver, standin, 2006, "Gula Aren")
    standin.fail_next(502, "Bad Gateway")

    outcomes = rt.run_queued()

    assert [(o.kind, o.code) for o in outcomes] == [("retry", "SHOPIFY_HTTP_502"), ("done", None)]
    assert stored(2006).state == "notified" and len(mutations(standin)) == 1


def test_a_refused_token_fails_at_once(
    rt: TestRuntime, deliver: Deliver, standin: TimedStandin
) -> None:
    queue(deliver, standin, 2007, "Madu Hutan")
    standin.access_token = "shpat_rotated_elsewhere"

    outcomes = rt.run_queued()

    assert [(o.kind, o.code) for o in outcomes] == [("failed", "SHOPIFY_UNAUTHORIZED")]
    assert "Invalid API key or access token" in (stored(2007).last_error_message or "")


def test_product_deleted_before_the_worker_came_fails_as_not_found(
    rt: TestRuntime, deliver: Deliver
) -> None:
    assert deliver(active_product(2008, "Rendang")).status_code == 200  # never seeded

    outcomes = rt.run_queued()

    assert [(o.kind, o.code) for o in outcomes] == [("failed", "SHOPIFY_PRODUCT_NOT_FOUND")]



def record(product_id: int, **fields: Any) -> ProductRecord:
    """A stored product as the worker sees it at the write-back step."""
    values: dict[str, Any] = {"id": 1, "platform": "shopify", "shop": SHOP,
                              "product_id": str(product_id), "title": "x", "product_url": None,
                              "state": "shortened",
                              "data": {"gid": f"gid://shopify/Product/{product_id}"}}
    return ProductRecord(**(values | fields))


@pytest.mark.parametrize(("repeat", "already", "writes"), [
    ({}, True, 1),                      # a first run writes without reading first
    ({"sweep_count": 1}, True, 0),      # picked up after a crash: already written, skip
    ({"attempts": 2}, True, 0),         # after a failed try whose write may have landed
    ({"sweep_count": 1}, False, 1),     # picked up after a crash before the write: write
])
def test_a_run_that_may_repeat_reads_the_metafield_before_writing(
    rt: TestRuntime, standin: TimedStandin, repeat: dict[str, int], already: bool, writes: int
) -> None:
    url = "https://kliqs.test/kopi"
    standin.add_product(2101, "Kopi", short_url=url if already else None)
    platform = get_platform("shopify")

    platform.write_back(record(2101, **repeat), url)

    assert len(mutations(standin)) == writes
    assert standin.short_url_of("gid://shopify/Product/2101") == url
    reads = [r for r in standin.requests if r.json()["operationName"] == "ProductForShortlink"]
    assert len(reads) == (1 if repeat else 0)
