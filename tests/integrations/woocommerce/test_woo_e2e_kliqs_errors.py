"""What Kliqs answers decides what happens: 5xx retried, 409 next suffix, plan limits park.

A fault-injecting proxy sits between the worker and the real Kliqs server; the limits are the
real ones of a Free account (5 links, 30 requests a month).
"""

from __future__ import annotations

import time

import pytest
from sqlalchemy import select

from kliqs_core.connector.models import Product
from tests.integrations.woocommerce.woo_e2e import E2E

pytestmark = pytest.mark.slow
LINKS = "/api/v1/links"


def _creates(e2e: E2E) -> list[int]:
    return [exchange.status for exchange in e2e.kliqs_proxy.log(method="POST", prefix=LINKS)]


def test_kliqs_5xx_then_success_is_retried_to_one_link(e2e: E2E) -> None:
    stack = e2e.start()
    # More failures than the SDK's own two retries: the pipeline's retry has to take over.
    e2e.kliqs_proxy.fail_next(4, 503, prefix=LINKS)
    e2e.deliver(e2e.product("Rendang Kering"))

    stack.wait_for(lambda: stack.all_in_state(["101"]), what="product 101 notified")
    assert _creates(e2e) == [503, 503, 503, 503, 201]
    assert [code for code, _ in e2e.links()] == ["rendang-kering"]
    assert len(e2e.write_backs(101)) == 1
    assert stack.products()["101"].attempts == 0  # cleared once the step passed
    assert "SERVICE_UNAVAILABLE" in stack.logs()


def test_slug_taken_moves_to_the_next_suffix(e2e: E2E) -> None:
    stack = e2e.start()
    taken = e2e.kliqs_api("POST", LINKS, json={"url": "https://elsewhere.example/", "slug": "kopi-gayo"})
    assert taken.status_code == 201
    e2e.deliver(e2e.product("Kopi Gayo"))

    stack.wait_for(lambda: stack.all_in_state(["101"]), what="product 101 notified")
    assert _creates(e2e) == [409, 201]
    assert stack.products()["101"].short_url == f"{e2e.server.url}/kopi-gayo-2"
    assert e2e.write_backs(101)[0]["json"]["meta_data"][0]["value"].endswith("/kopi-gayo-2")


def test_shortlink_limit_parks_the_product_until_connect_retry(e2e: E2E) -> None:
    stack = e2e.start("free")
    for number in range(5):  # a Free account holds 5 links
        made = e2e.kliqs_api("POST", LINKS, json={"url": f"https://toko.example/{number}"})
        assert made.status_code == 201, made.text
    e2e.deliver(e2e.product("Madu Hutan"))

    stack.wait_for(lambda: stack.all_in_state(["101"], "parked"), what="product 101 parked")
    parked = stack.products()["101"]
    assert (parked.last_error_code, parked.parked_until) == ("SHORTLINK_LIMIT_REACHED", None)
    assert _never_swept(stack, "101")
    status = stack.kliqs("connect", "status", "--platform", "woocommerce").stdout
    assert "parked" in status and "SHORTLINK_LIMIT_REACHED" in status
    _assert_no_more_creates(e2e, stack, expected=[403])

    first = e2e.kliqs_api("GET", LINKS).json()["data"]["items"][0]["id"]
    assert e2e.kliqs_api("DELETE", f"{LINKS}/{first}").status_code in (200, 204)
    retried = stack.kliqs("connect", "retry", "--product", "woocommerce:101")
    assert retried.returncode == 0, retried.stdout + retried.stderr
    stack.wait_for(lambda: stack.all_in_state(["101"]), what="product 101 notified after retry")
    assert _creates(e2e) == [403, 403, 201]  # the barrier product stays parked
    assert len(e2e.write_backs(101)) == 1


def test_monthly_request_limit_parks_the_product_until_the_reset(e2e: E2E) -> None:
    stack = e2e.start("free")
    _use_up_monthly_requests(e2e)
    e2e.deliver(e2e.product("Kerupuk Udang"))

    stack.wait_for(lambda: stack.all_in_state(["101"], "parked"), what="product 101 parked")
    parked = stack.products()["101"]
    assert parked.last_error_code == "API_LIMIT_REACHED"
    assert parked.parked_until is not None and parked.parked_until.day == 1  # the monthly reset
    status = stack.kliqs("connect", "status", "--platform", "woocommerce").stdout
    assert "API_LIMIT_REACHED (until" in status
    _assert_no_more_creates(e2e, stack, expected=[429])
    assert e2e.links() == []


def _use_up_monthly_requests(e2e: E2E) -> None:
    """Spend the Free plan's 30 requests on reads (slowly: the burst limit is 20/s per key)."""
    for _ in range(40):
        answer = e2e.kliqs_api("GET", LINKS)
        if answer.status_code == 429 and answer.json()["error"] == "API_LIMIT_REACHED":
            return
        assert answer.status_code in (200, 429), answer.text
        time.sleep(0.06)
    raise AssertionError("the monthly limit was never reached")


def _never_swept(stack: object, product_id: str) -> bool:
    """A product parked without a reset time has no next sweep: only an operator resumes it."""
    with stack.database.transaction() as session:  # type: ignore[attr-defined]
        row = session.scalars(select(Product).where(Product.product_id == product_id)).one()
        return row.next_sweep_at is None


def _assert_no_more_creates(e2e: E2E, stack: object, *, expected: list[int]) -> None:
    """Parked means parked: a later product finishes its run, yet no second create was sent."""
    barrier = e2e.product("Barrier Product")
    e2e.deliver(barrier)
    pid = str(barrier["id"])
    stack.wait_for(lambda: stack.all_in_state([pid], "parked"), what="barrier parked")  # type: ignore[attr-defined]
    # And more than a sweep interval (1 s) on top of the barrier: still one request each.
    time.sleep(1.5)
    assert _creates(e2e) == expected * 2
