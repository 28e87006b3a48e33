"""kill -9 in the middle: every accepted product still ends done, exactly once.

The worker is killed right after Kliqs created the link (the answer held back by a proxy) and,
separately, right after the shop applied the write-back; the connector is killed as soon as it
has answered a 200 while a burst of deliveries is in flight. After a restart, each accepted
product has one link on the Kliqs server and one PUT in the shop.
"""

from __future__ import annotations

import threading
from concurrent.futures import ThreadPoolExecutor

import pytest
import requests

from tests.integrations.woocommerce.woo_e2e import E2E

pytestmark = pytest.mark.slow


def test_worker_killed_after_the_link_was_created_finishes_with_one_link(e2e: E2E) -> None:
    stack = e2e.start()
    e2e.kliqs_proxy.hold_after_forward(method="POST", prefix="/api/v1/links")
    e2e.deliver(e2e.product("Sepatu Lari"))
    assert e2e.kliqs_proxy.held.wait(60), stack.logs()
    assert [code for code, _ in e2e.links()] == ["sepatu-lari"]  # Kliqs has it, we do not

    stack.kill(stack.processes[0])  # the worker (and its pool) with SIGKILL
    e2e.kliqs_proxy.release()
    assert stack.products()["101"].short_url is None
    stack.start_worker()  # its sweeper re-queues the product once the dead run's lease ends

    stack.wait_for(lambda: stack.all_in_state(["101"]), what="product 101 notified")
    assert [code for code, _ in e2e.links()] == ["sepatu-lari"]
    creates = e2e.kliqs_proxy.log(method="POST", prefix="/api/v1/links")
    assert [c.status for c in creates] == [201, 201]  # the resend was answered by a replay
    assert len(e2e.write_backs(101)) == 1
    assert stack.products()["101"].short_url == f"{e2e.server.url}/sepatu-lari"


def test_worker_killed_after_the_shop_applied_the_write_back_puts_once(e2e: E2E) -> None:
    stack = e2e.start()
    e2e.shop_proxy.hold_after_forward(method="PUT", prefix="/wp-json/wc/v3/products/")
    e2e.deliver(e2e.product("Tas Rotan"))
    assert e2e.shop_proxy.held.wait(60), stack.logs()
    assert len(e2e.write_backs(101)) == 1  # the shop has it, the connector does not know

    stack.kill(stack.processes[0])
    e2e.shop_proxy.release()
    assert stack.products()["101"].state == "shortened"
    stack.start_worker()

    stack.wait_for(lambda: stack.all_in_state(["101"]), what="product 101 notified")
    assert len(e2e.write_backs(101)) == 1  # the resumed run read the product and skipped
    assert len(e2e.shop_requests(101, "GET")) == 1
    assert [code for code, _ in e2e.links()] == ["tas-rotan"]


def test_connector_killed_right_after_its_200_loses_no_accepted_product(e2e: E2E) -> None:
    stack = e2e.start()
    connector = stack.processes[-1]
    products = [e2e.product(f"Batik Tulis {n}") for n in range(1, 9)]
    first_ok = threading.Event()

    def deliver(product: dict[str, object]) -> int | None:
        try:
            status = e2e.deliver(product).status_code
        except requests.RequestException:
            return None  # killed before it answered: WooCommerce counts it as a failure
        if status == 200:
            first_ok.set()
        return status

    with ThreadPoolExecutor(len(products)) as pool:
        answers = pool.map(deliver, products)
        assert first_ok.wait(60), stack.logs()
        stack.kill(connector)
        statuses = dict(zip([str(p["id"]) for p in products], answers, strict=True))
    stack.start_connector()

    accepted = [pid for pid, status in statuses.items() if status == 200]
    stored = list(stack.products())
    assert accepted and set(accepted) <= set(stored)
    stack.wait_for(lambda: stack.all_in_state(stored), what=f"all of {stored} notified")
    assert len(e2e.links()) == len(stored)
    assert {pid: len(e2e.write_backs(pid)) for pid in statuses} == {
        pid: int(pid in stored) for pid in statuses
    }
