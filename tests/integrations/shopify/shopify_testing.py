"""Helpers of the Shopify plug-in tests: constants, a timed Admin stand-in, a webhook sender."""

from __future__ import annotations

import asyncio
import json
import threading
import time
from typing import Any

import httpx

from sqlalchemy import select

from kliqs_core.connector import ProductRecord, find_product
from kliqs_core.connector.db import Database
from kliqs_core.connector.models import WebhookDelivery

from tests.standins.shopify_standin import (
    RecordedRequest,
    ShopifyAdminStandin,
    product_payload,
    webhook_headers,
)

# Shaped like Shopify client secrets; never a real app's. Two: a rotation in progress.
NEW_SECRET = "shpss_kliqs_test_new_0000000000000000"
OLD_SECRET = "shpss_kliqs_test_old_1111111111111111"
SHOP = "kliqs-demo.myshopify.com"
PRIMARY_DOMAIN = "https://toko-kliqs.example"


class TimedStandin(ShopifyAdminStandin):
    """The Admin stand-in, also noting when each request arrived (monotonic seconds)."""

    def __init__(self, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.arrivals: list[float] = []
        self._arrival_lock = threading.Lock()

    def handle(self, request: RecordedRequest) -> tuple[int, dict[str, str], bytes]:
        """Note the time, then answer as the stand-in does."""
        with self._arrival_lock:
            self.arrivals.append(time.monotonic())
        return super().handle(request)


class AppClient:
    """A synchronous client of an ASGI app in this process (httpx's ASGI transport).

    Starlette's own TestClient warns about its httpx use, and warnings are errors here.
    """

    def __init__(self, asgi_app: Any) -> None:
        self._app = asgi_app

    def get(self, path: str, **kwargs: Any) -> httpx.Response:
        """One GET."""
        return self.request("GET", path, **kwargs)

    def post(self, path: str, **kwargs: Any) -> httpx.Response:
        """One POST."""
        return self.request("POST", path, **kwargs)

    def request(self, method: str, path: str, **kwargs: Any) -> httpx.Response:
        """Run one whole ASGI exchange."""

        async def go() -> httpx.Response:
            transport = httpx.ASGITransport(app=self._app)
            async with httpx.AsyncClient(transport=transport, base_url="http://connector.test") as c:
                return await c.request(method, path, **kwargs)

        return asyncio.run(go())


class Deliver:
    """Posts Shopify-signed webhooks to the connector app."""

    def __init__(self, web: AppClient) -> None:
        self.web = web

    def __call__(self, product: dict[str, Any] | bytes, *, secret: str = NEW_SECRET,
                 **options: Any) -> httpx.Response:
        """POST one delivery; ``options`` go to the stand-in's ``webhook_headers``."""
        body = product if isinstance(product, bytes) else json.dumps(product).encode()
        headers = webhook_headers(body, secret=secret, shop_domain=options.pop("shop", SHOP),
                                  **options)
        return self.web.post("/webhooks/shopify", content=body, headers=headers)


def active_product(product_id: int, title: str, **overrides: Any) -> dict[str, Any]:
    """A ``products/create`` body of an active product."""
    return {**product_payload(product_id, title), **overrides}


def inbox(database: Database) -> list[tuple[str | None, str, str, str | None]]:
    """Every stored delivery as ``(delivery_id, topic, status, reason)``, oldest first."""
    with database.transaction() as session:
        rows = session.scalars(select(WebhookDelivery).order_by(WebhookDelivery.id))
        return [(row.delivery_id, row.topic, row.status, row.reason) for row in rows]


def stored(product_id: int | str) -> ProductRecord:
    """The connector's row of a Shopify product of :data:`SHOP` (it must exist)."""
    found = find_product("shopify", SHOP, str(product_id))
    assert found is not None, f"product {product_id} is not stored"
    return found
