"""End-to-end set-up: the real Kliqs server, the WooCommerce stand-in, proxies, the connector.

One `E2E` per test: a fresh Kliqs account, a WooCommerce stand-in whose permalinks look like a
real shop's, a fault-injecting proxy in front of each (so tests can fail or hold requests), and
a `ConnectorStack` (connector web process + Celery worker process) started by `start()`.
"""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import requests
from sqlalchemy import text

from kliqs_testing.databases import postgres_database, redis_url
from kliqs_testing.servers import ApiAccount, ProcessServer
from tests.integrations.woocommerce.woo_faultproxy import FaultProxy
from tests.integrations.woocommerce.woo_stack import ConnectorStack
from tests.standins.woocommerce_hookshot import sign_and_post
from tests.standins.woocommerce_standin import PRODUCTS_PATH, WooStandin, wp_json_encode

SECRET = "wc-e2e-secret_(not-a-real-shop)"
PUBLIC_SHOP = "https://toko-contoh.example"


@dataclass
class E2E:
    """Everything one end-to-end test drives; call `start()` for the connector processes."""

    folder: Path
    server: ProcessServer
    shop: WooStandin
    kliqs_proxy: FaultProxy
    shop_proxy: FaultProxy
    broker_url: str | None = None
    database_url: str | None = None
    stack: ConnectorStack | None = None
    account: ApiAccount | None = None
    _deliveries: int = field(default=0)

    def start(self, plan: str = "business", *, worker: bool = True) -> ConnectorStack:
        """A fresh account on ``plan``, then the worker and the connector processes."""
        self.account = self.server.new_account(plan)
        self.stack = ConnectorStack(
            self.folder / "stack", self.kliqs_proxy.url, self.account.key, self.shop_proxy.url,
            SECRET, broker_url=self.broker_url, database_url=self.database_url,
        )  # fmt: skip
        if worker:
            self.stack.start_worker()  # starts while the connector does: both take seconds
        self.stack.start_connector()
        return self.stack

    def product(self, name: str, **fields: Any) -> dict[str, Any]:
        """A published product in the shop."""
        return self.shop.add_product(name=name, **fields)

    def deliver(self, product: dict[str, Any] | bytes, topic: str = "product.created",
                delivery_id: str | None = None) -> requests.Response:  # fmt: skip
        """POST one delivery signed as WooCommerce does (wp_json_encode body)."""
        assert self.stack is not None
        if delivery_id is None:
            self._deliveries += 1
            delivery_id = f"{uuid.uuid4().hex[:20]}-{self._deliveries}"
        return sign_and_post(self.stack.webhook_url, SECRET, product, topic, delivery_id,
                             source=PUBLIC_SHOP + "/", timeout=30)  # fmt: skip

    def links(self) -> list[tuple[str, str]]:
        """(code, destination) of the account's links, read from the Kliqs database."""
        assert self.account is not None
        with self.server.engine.connect() as conn:
            rows = conn.execute(
                text("SELECT code, destination_url FROM links WHERE account_id = :a "
                     "AND deleted_at IS NULL ORDER BY code"), {"a": self.account.id},
            )  # fmt: skip
            return [(str(code), str(url)) for code, url in rows]

    def shop_requests(self, product_id: int | str, method: str) -> list[dict[str, Any]]:
        """The REST requests the shop received for one product with ``method``."""
        path = f"{PRODUCTS_PATH}/{product_id}"
        return [r for r in self.shop.requests if r["method"] == method and r["path"] == path]

    def write_backs(self, product_id: int | str) -> list[dict[str, Any]]:
        """The connector's PUTs of ``kliqs_short_url`` the shop received for one product."""
        return [r for r in self.shop_requests(product_id, "PUT")
                if any(m.get("key") == "kliqs_short_url"
                       for m in (r.get("json") or {}).get("meta_data", []))]  # fmt: skip

    def kliqs_api(self, method: str, path: str, **kwargs: Any) -> requests.Response:
        """Call the Kliqs API directly (not through the proxy) with the account's key."""
        assert self.account is not None
        return requests.request(method, self.server.url + path, headers=self.account.auth,
                                timeout=30, **kwargs)  # fmt: skip

    def close(self) -> None:
        if self.stack is not None:
            self.stack.stop()


@contextmanager
def backend_urls(kind: str) -> Iterator[tuple[str | None, str | None]]:
    """(broker URL, connector database URL): embedded defaults, or Redis + a fresh PostgreSQL."""
    if kind == "embedded":
        yield None, None
        return
    broker = redis_url()
    database = postgres_database()
    try:
        yield broker, database.url
    finally:
        database.drop()


@contextmanager
def e2e_setup(folder: Path, server: ProcessServer, kind: str) -> Iterator[E2E]:
    """Shop, proxies and backend for one test; everything is stopped afterwards."""
    with backend_urls(kind) as (broker, database), WooStandin(shop_url=PUBLIC_SHOP) as shop, \
            FaultProxy(server.url) as kliqs_proxy, FaultProxy(shop.url) as shop_proxy:  # fmt: skip
        e2e = E2E(folder, server, shop, kliqs_proxy, shop_proxy, broker, database)
        try:
            yield e2e
        finally:
            e2e.close()


__all__ = ["E2E", "PUBLIC_SHOP", "SECRET", "backend_urls", "e2e_setup", "wp_json_encode"]
