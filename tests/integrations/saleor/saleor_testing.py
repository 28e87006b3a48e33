"""Helpers of the Saleor plug-in tests: constants and a signed-webhook sender."""

from __future__ import annotations

import json
from typing import Any

import httpx

from kliqs_core.connector import ProductRecord, find_product
from tests.integrations.shopify.shopify_testing import AppClient
from tests.standins.saleor_standin import (
    SaleorSigner,
    SaleorStandin,
    product_event_payload,
    relay_id,
    webhook_headers,
)

STOREFRONT = "https://toko-saleor.example/products/{slug}"
DOMAIN = "saleor.example"


class Deliver:
    """Posts Saleor-signed webhooks to the connector app (signed by the stand-in's newest key)."""

    def __init__(self, web: AppClient, standin: SaleorStandin) -> None:
        self.web = web
        self.standin = standin

    def __call__(self, payload: dict[str, Any] | bytes, *, signer: SaleorSigner | None = None,
                 **options: Any) -> httpx.Response:
        """POST one delivery; ``options`` go to the stand-in's ``webhook_headers``."""
        body = payload if isinstance(payload, bytes) else json.dumps(payload).encode()
        if "legacy_secret" not in options:
            options["signer"] = signer or self.standin.signer
        options.setdefault("domain", DOMAIN)
        headers = webhook_headers(body, api_url=self.standin.api_url, **options)
        return self.web.post("/webhooks/saleor", content=body, headers=headers)


def event(pk: int, name: str, **options: Any) -> dict[str, Any]:
    """A PRODUCT_CREATED/UPDATED body for product ``pk``."""
    return product_event_payload(relay_id("Product", pk), name, **options)


def stored(shop: str, pk: int) -> ProductRecord:
    """The connector's row of Saleor product ``pk`` (it must exist)."""
    found = find_product("saleor", shop, relay_id("Product", pk))
    assert found is not None, f"product {pk} is not stored"
    return found
