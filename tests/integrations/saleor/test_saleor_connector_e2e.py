"""Saleor end to end: JWS-signed webhooks into the connector process, a real Celery worker,
the real Kliqs server (``kliqs serve``) and the Saleor stand-in (GraphQL + JWKS).

One connector and one worker serve the whole module; each test uses its own products. The
kill test replaces the worker it kills.
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
from tests.integrations.saleor.saleor_testing import DOMAIN, STOREFRONT, event
from tests.integrations.shopify.connector_processes import (
    PATIENCE,
    ConnectorProcesses,
    KliqsProxy,
    prepare_kliqs_server,
    server_links,
    start_config_check,
    wait_for,
)
from tests.standins.saleor_standin import SaleorSigner, SaleorStandin, relay_id, webhook_headers

pytestmark = pytest.mark.slow


@dataclass
class Stack:
    """Everything one module's tests talk to."""

    server: ProcessServer
    account: ApiAccount
    proxy: KliqsProxy
    shop: SaleorStandin
    connector: ConnectorProcesses

    @property
    def shop_key(self) -> str:
        return self.shop.url.removeprefix("http://")

    def send(self, body: bytes, headers: dict[str, str]) -> requests.Response:
        return requests.post(f"{self.connector.url}/webhooks/saleor", data=body, headers=headers,
                             timeout=10)

    def deliver(self, payload: dict[str, Any], *, signer: SaleorSigner | None = None,
                **options: Any) -> requests.Response:
        body = json.dumps(payload).encode()
        return self.send(body, webhook_headers(body, signer=signer or self.shop.signer,
                                               domain=DOMAIN, api_url=self.shop.api_url,
                                               **options))

    def state(self, pk: int) -> str | None:
        found = self.connector.stored("saleor", self.shop_key, relay_id("Product", pk))
        return found.state if found else None

    def short_url(self, pk: int) -> str | None:
        found = self.connector.stored("saleor", self.shop_key, relay_id("Product", pk))
        return found.short_url if found else None

    def links_to(self, slug: str) -> list[str]:
        url = STOREFRONT.replace("{slug}", slug)
        return [link["short_url"] for link in server_links(self.server, self.account)
                if link["destination_url"] == url]

    def writes_to(self, pk: int) -> list[str]:
        return [item["value"] for call in self.shop.mutations
                if call["updateMetadata"]["id"] == relay_id("Product", pk)
                for item in call["updateMetadata"]["input"]]

    def describe(self) -> str:
        return self.connector.logs()


@pytest.fixture(scope="module")
def stack(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Stack]:
    """Kliqs server + proxy, Saleor stand-in, connector and one worker (started side by side)."""
    folder = tmp_path_factory.mktemp("saleor-e2e")
    server, account = prepare_kliqs_server(folder / "kliqs")
    proxy = KliqsProxy(server.url).start()
    shop = SaleorStandin().start()
    connector = ConnectorProcesses(folder, plugin="saleor", api_url=proxy.url,
                                   api_key=account.key, platform_env={
                                       "SALEOR_API_URL": shop.api_url,
                                       "SALEOR_APP_TOKEN": shop.app_token,
                                       "SALEOR_JWKS_URL": shop.jwks_url,
                                       "SALEOR_STOREFRONT_URL_TEMPLATE": STOREFRONT,
                                       # an unknown kid is looked up again at once
                                       "SALEOR_JWKS_REFETCH_COOLDOWN": "0"})
    try:
        connector.start_connector()
        connector.start_worker()
        server.start()
        connector.wait_ready("saleor")
        yield Stack(server, account, proxy, shop, connector)
    finally:
        connector.stop()
        server.stop()
        proxy.stop()
        shop.stop()


def test_signed_delivery_gives_one_link_and_one_write_despite_duplicates_echoes_replays(
    stack: Stack,
) -> None:
    stack.shop.add_product(101, "Kopi Toraja", slug="kopi-toraja")
    payload = event(101, "Kopi Toraja", slug="kopi-toraja")
    body = json.dumps(payload).encode()
    headers = webhook_headers(body, signer=stack.shop.signer, domain=DOMAIN)

    assert stack.send(body, headers).json()["data"]["status"] == "accepted"
    assert stack.send(body, headers).json()["data"]["reason"] == "duplicate_delivery"
    legacy = webhook_headers(body, signer=stack.shop.signer, domain=DOMAIN, deprecated_names=True)
    assert stack.send(body, legacy).json()["data"]["reason"] == "duplicate_delivery"
    update = stack.deliver(payload | {"issuedAt": "2026-07-01T03:00:01+00:00"},
                           event="product_updated")
    assert update.status_code == 200 and update.json()["data"]["status"] in ("accepted", "ignored")

    wait_for(lambda: stack.state(101) == "notified", describe=stack.describe)
    short_url = stack.short_url(101)
    assert short_url == f"{stack.server.url}/kopi-toraja"

    # The write-back's echo, with and without the metadata; a late replay of the first body.
    echo = event(101, "Kopi Toraja", slug="kopi-toraja", short_url=short_url)
    assert stack.deliver(echo, event="product_updated").json()["data"]["status"] == "ignored"
    later = payload | {"issuedAt": "2026-07-01T03:00:09+00:00"}
    assert stack.deliver(later, event="product_updated").json()["data"]["status"] == "ignored"
    assert stack.send(body, headers).json()["data"]["reason"] == "duplicate_delivery"
    time.sleep(2.5)  # a stray task, had one been queued, would run within a sweep or two

    assert stack.links_to("kopi-toraja") == [short_url]
    assert stack.writes_to(101) == [short_url]
    assert stack.shop.products[relay_id("Product", 101)]["metadata"] == {
        "kliqs_short_url": short_url}


@pytest.mark.parametrize("forgery", ["tampered body", "wrong key", "unknown kid", "no signature"])
def test_bad_jws_over_http_is_401_and_stores_nothing(stack: Stack, forgery: str) -> None:
    pk = {"tampered body": 201, "wrong key": 202, "unknown kid": 203, "no signature": 204}[forgery]
    stack.shop.add_product(pk, f"Produk {pk}")
    body = json.dumps(event(pk, f"Produk {pk}")).encode()
    signer = {"wrong key": SaleorSigner("1"),  # a fresh key claiming the published kid
              "unknown kid": SaleorSigner("never-published")}.get(forgery, stack.shop.signer)
    headers = webhook_headers(body, signer=signer, domain=DOMAIN)
    if forgery == "tampered body":
        body = body.replace(f"Produk {pk}".encode(), b"Produk Palsu")
    if forgery == "no signature":
        del headers["Saleor-Signature"]
    fetched = stack.shop.jwks_requests

    answer = stack.send(body, headers)

    assert answer.status_code == 401 and answer.json()["error"] == "INVALID_SIGNATURE"
    if forgery == "unknown kid":
        assert stack.shop.jwks_requests == fetched + 1  # looked again before refusing
    time.sleep(1.5)
    assert stack.state(pk) is None and stack.writes_to(pk) == []
    assert stack.links_to(f"produk-{pk}") == []


def test_rotated_key_is_fetched_and_its_delivery_verifies(stack: Stack) -> None:
    stack.shop.add_product(301, "Teh Poci", slug="teh-poci")
    rotated = stack.shop.rotate_key("2")

    answer = stack.deliver(event(301, "Teh Poci", slug="teh-poci"), signer=rotated)

    assert answer.status_code == 200, answer.text
    wait_for(lambda: stack.state(301) == "notified", describe=stack.describe)
    assert stack.writes_to(301) == [stack.short_url(301)]


def test_worker_killed_mid_task_finishes_exactly_once_after_restart(stack: Stack) -> None:
    stack.shop.add_product(401, "Songket Palembang", slug="songket-palembang")
    stack.proxy.created.clear()
    stack.proxy.release.clear()
    stack.proxy.hold_next.set()
    keys_before = len(stack.proxy.create_keys)

    stack.deliver(event(401, "Songket Palembang", slug="songket-palembang"))
    assert stack.proxy.created.wait(PATIENCE), stack.describe()
    for worker in list(stack.connector.workers):
        stack.connector.kill_worker(worker)
    stack.proxy.release.set()
    assert stack.state(401) == "received"

    stack.connector.start_worker()
    wait_for(lambda: stack.state(401) == "notified", describe=stack.describe)

    short_url = stack.short_url(401)
    assert stack.links_to("songket-palembang") == [short_url]
    keys = stack.proxy.create_keys[keys_before:]
    assert len(keys) == 2 and keys[0] == keys[1]
    assert stack.writes_to(401) == [short_url]


def test_connector_refuses_to_start_without_a_required_setting(tmp_path: Path) -> None:
    code, output = start_config_check(tmp_path, plugin="saleor", platform_env={
        "SALEOR_API_URL": "https://saleor.example/graphql/",
        "SALEOR_STOREFRONT_URL_TEMPLATE": STOREFRONT})

    assert code != 0
    assert "saleor: missing setting(s): SALEOR_APP_TOKEN" in output
