"""Shopify end to end: signed webhooks into the connector process, a real Celery worker, the
real Kliqs server (``kliqs serve``) and the Admin GraphQL stand-in.

One connector and one worker serve the whole module (starting them is the slow part); each
test uses its own products. The kill test replaces the worker it kills.
"""

from __future__ import annotations

import json
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
import requests

from kliqs_testing.servers import ApiAccount, ProcessServer
from tests.integrations.shopify.connector_processes import (
    PATIENCE,
    ConnectorProcesses,
    KliqsProxy,
    prepare_kliqs_server,
    server_links,
    start_config_check,
    wait_for,
)
from tests.integrations.shopify.shopify_testing import (
    NEW_SECRET,
    OLD_SECRET,
    PRIMARY_DOMAIN,
    SHOP,
    TimedStandin,
)
from tests.standins.shopify_standin import product_payload, webhook_headers

pytestmark = pytest.mark.slow


@dataclass
class Stack:
    """Everything one module's tests talk to."""

    server: ProcessServer
    account: ApiAccount
    proxy: KliqsProxy
    shop: TimedStandin
    connector: ConnectorProcesses

    @property
    def webhook_url(self) -> str:
        return f"{self.connector.url}/webhooks/shopify"

    def send(self, body: bytes, headers: dict[str, str]) -> requests.Response:
        return requests.post(self.webhook_url, data=body, headers=headers, timeout=10)

    def deliver(self, payload: dict[str, Any], *, secret: str = NEW_SECRET,
                **options: Any) -> requests.Response:
        body = json.dumps(payload).encode()
        return self.send(body, webhook_headers(body, secret=secret, shop_domain=SHOP, **options))

    def state(self, product_id: int) -> str | None:
        found = self.connector.stored("shopify", SHOP, str(product_id))
        return found.state if found else None

    def links_to(self, url: str) -> list[dict[str, Any]]:
        return [link for link in server_links(self.server, self.account)
                if link["destination_url"] == url]

    def writes_to(self, gid: str) -> list[str]:
        return [mf["value"] for call in self.shop.mutations for mf in call["metafieldsSet"]
                if mf["ownerId"] == gid]

    def describe(self) -> str:
        return self.connector.logs()


@pytest.fixture(scope="module")
def stack(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Stack]:
    """Kliqs server + proxy, Admin stand-in, connector and one worker (started side by side)."""
    folder = tmp_path_factory.mktemp("shopify-e2e")
    server, account = prepare_kliqs_server(folder / "kliqs")
    proxy = KliqsProxy(server.url).start()
    shop = TimedStandin(shop=SHOP, primary_domain=PRIMARY_DOMAIN).start()
    connector = ConnectorProcesses(folder, plugin="shopify", api_url=proxy.url,
                                   api_key=account.key, platform_env={
                                       "SHOPIFY_SHOP": SHOP,
                                       "SHOPIFY_ACCESS_TOKEN": shop.access_token,
                                       "SHOPIFY_WEBHOOK_SECRETS": f"{NEW_SECRET},{OLD_SECRET}",
                                       "SHOPIFY_ADMIN_URL": shop.url,
                                       "SHOPIFY_API_VERSION": shop.api_version})
    try:
        connector.start_connector()
        connector.start_worker()
        server.start()
        connector.wait_ready("shopify")
        yield Stack(server, account, proxy, shop, connector)
    finally:
        connector.stop()
        server.stop()
        proxy.stop()
        shop.stop()


def test_signed_delivery_gives_one_link_and_one_write_despite_duplicates_echoes_replays(
    stack: Stack,
) -> None:
    gid = stack.shop.add_product(5001, "Kopi Luwak", handle="kopi-luwak")
    payload = product_payload(5001, "Kopi Luwak", handle="kopi-luwak")
    body = json.dumps(payload).encode()
    first = webhook_headers(body, secret=OLD_SECRET, shop_domain=SHOP,  # rotation: old secret
                            webhook_id="w-5001", event_id="e-5001")

    assert stack.send(body, first).json()["data"]["status"] == "accepted"
    assert stack.send(body, first).json()["data"]["status"] == "duplicate"  # Shopify's retry
    other_subscription = stack.deliver(payload, webhook_id="w-5001-b", event_id="e-5001")
    assert other_subscription.json()["data"]["status"] == "duplicate"
    update = stack.deliver(payload, topic="products/update")  # created already published
    assert update.status_code == 200 and update.json()["data"]["status"] in ("accepted", "ignored")

    wait_for(lambda: stack.state(5001) == "notified", describe=stack.describe)
    product = stack.connector.stored("shopify", SHOP, "5001")
    assert product is not None and product.short_url == f"{stack.server.url}/kopi-luwak"

    # The write-back's echo, with and without the metafield in the payload; a late replay.
    echo = {**payload, "metafields": [{"namespace": "kliqs", "key": "short_url",
                                       "value": product.short_url}]}
    assert stack.deliver(echo, topic="products/update").json()["data"]["status"] == "ignored"
    assert stack.deliver(payload, topic="products/update").json()["data"]["status"] == "ignored"
    assert stack.send(body, first).json()["data"]["status"] == "duplicate"
    time.sleep(2.5)  # a stray task, had one been queued, would run within a sweep or two

    links = stack.links_to(f"{PRIMARY_DOMAIN}/products/kopi-luwak")
    assert [link["short_url"] for link in links] == [product.short_url]
    assert stack.writes_to(gid) == [product.short_url]
    assert stack.shop.short_url_of(gid) == product.short_url


@pytest.mark.parametrize("forgery", ["wrong secret", "no signature", "tampered body"])
def test_forged_or_unsigned_delivery_is_401_and_stores_nothing(
    stack: Stack, forgery: str
) -> None:
    pid = {"wrong secret": 5101, "no signature": 5102, "tampered body": 5103}[forgery]
    gid = stack.shop.add_product(pid, f"Produk {pid}", handle=f"produk-{pid}")
    body = json.dumps(product_payload(pid, f"Produk {pid}", handle=f"produk-{pid}")).encode()
    secret = "shpss_not_the_apps_secret" if forgery == "wrong secret" else NEW_SECRET
    headers = webhook_headers(body, secret=secret, shop_domain=SHOP)
    if forgery == "no signature":
        del headers["X-Shopify-Hmac-Sha256"]
    if forgery == "tampered body":
        body = body.replace(b'"status": "active"', b'"status": "active", "x": 1')

    answer = stack.send(body, headers)

    assert answer.status_code == 401 and answer.json()["error"] == "INVALID_SIGNATURE"
    time.sleep(1.5)
    assert stack.state(pid) is None
    assert stack.writes_to(gid) == []
    assert stack.links_to(f"{PRIMARY_DOMAIN}/products/produk-{pid}") == []


def test_throttled_admin_api_is_waited_out_by_the_worker(stack: Stack) -> None:
    gid = stack.shop.add_product(5201, "Teh Melati", handle="teh-melati")
    seen = len(stack.shop.arrivals)
    # 752 wanted, 602 available, 100 a second: the worker waits 1.5 s, then asks again.
    stack.shop.throttle_next(1, requested=752, available=602.0, restore_rate=100.0)

    stack.deliver(product_payload(5201, "Teh Melati", handle="teh-melati"))

    wait_for(lambda: stack.state(5201) == "notified", describe=stack.describe)
    throttled, retried = stack.shop.arrivals[seen], stack.shop.arrivals[seen + 1]
    assert retried - throttled >= 1.5
    assert len(stack.writes_to(gid)) == 1


def test_worker_killed_mid_task_finishes_exactly_once_after_restart(stack: Stack) -> None:
    gid = stack.shop.add_product(5301, "Sepatu Kulit", handle="sepatu-kulit")
    stack.proxy.created.clear()
    stack.proxy.release.clear()
    stack.proxy.hold_next.set()
    keys_before = len(stack.proxy.create_keys)

    stack.deliver(product_payload(5301, "Sepatu Kulit", handle="sepatu-kulit"))
    # The server has made the link; the worker waits for the answer the proxy holds back.
    assert stack.proxy.created.wait(PATIENCE), stack.describe()
    for worker in list(stack.connector.workers):
        stack.connector.kill_worker(worker)
    stack.proxy.release.set()
    assert stack.state(5301) == "received"  # the link was never stored by the connector

    stack.connector.start_worker()  # its sweeper re-queues the product once the lease ends
    wait_for(lambda: stack.state(5301) == "notified", describe=stack.describe)

    product = stack.connector.stored("shopify", SHOP, "5301")
    assert product is not None
    links = stack.links_to(f"{PRIMARY_DOMAIN}/products/sepatu-kulit")
    assert [link["short_url"] for link in links] == [product.short_url]
    keys = stack.proxy.create_keys[keys_before:]
    assert len(keys) == 2 and keys[0] == keys[1]  # the resend was a replay of the same request
    assert stack.writes_to(gid) == [product.short_url]


def test_connector_refuses_to_start_without_a_required_setting(tmp_path: Path) -> None:
    code, output = start_config_check(tmp_path, plugin="shopify", platform_env={
        "SHOPIFY_SHOP": SHOP, "SHOPIFY_WEBHOOK_SECRETS": NEW_SECRET})

    assert code != 0
    assert "shopify: missing setting(s): SHOPIFY_ACCESS_TOKEN" in output
