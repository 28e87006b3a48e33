"""ShopifyAdmin: endpoint and auth, product URL rules, write-back variables, sync paging."""

from __future__ import annotations

import json
from typing import Any

import pytest
import responses

from integrations.shopify.api import ProductNotFound, ShopifyAdmin, ShortlinkTarget, product_gid
from integrations.shopify.graphql import GraphQLUserError
from integrations.shopify.settings import ShopifyNotConfigured, ShopifySettings

SHOP = "kliqs-demo.myshopify.com"
ENDPOINT = f"https://{SHOP}/admin/api/2026-07/graphql.json"
GID = "gid://shopify/Product/9554194432293"
SHOP_DATA = {"primaryDomain": {"url": "https://toko-kliqs.example"}}


def product(**overrides: Any) -> dict[str, Any]:
    data = {"id": GID, "title": "VPS Murah", "handle": "vps-murah", "status": "ACTIVE",
            "onlineStoreUrl": None, "metafield": None}
    data.update(overrides)
    return data


@pytest.fixture
def admin() -> ShopifyAdmin:
    return ShopifyAdmin(SHOP, "shpat_secret", api_version="2026-07")


def sent_body(index: int = 0) -> dict[str, Any]:
    body = responses.calls[index].request.body
    assert body is not None
    decoded: dict[str, Any] = json.loads(body)
    return decoded


def test_endpoint_and_admin_url_override() -> None:
    assert ShopifyAdmin(SHOP, "t", api_version="2026-07").endpoint == ENDPOINT
    local = ShopifyAdmin(SHOP, "t", api_version="2026-04", admin_url="http://127.0.0.1:8701/")
    assert local.endpoint == "http://127.0.0.1:8701/admin/api/2026-04/graphql.json"


@responses.activate
def test_product_url_prefers_online_store_url(admin: ShopifyAdmin) -> None:
    online = "https://toko-kliqs.example/products/vps-murah-2"
    responses.post(ENDPOINT, json={"data": {"product": product(onlineStoreUrl=online),
                                            "shop": SHOP_DATA}})
    target = admin.product_for_shortlink(GID)
    assert target == ShortlinkTarget(gid=GID, title="VPS Murah", handle="vps-murah",
                                     status="ACTIVE", url=online, short_url=None)
    assert responses.calls[0].request.headers["X-Shopify-Access-Token"] == "shpat_secret"
    assert sent_body()["variables"] == {"id": GID}


@responses.activate
def test_product_url_falls_back_to_primary_domain_and_handle(admin: ShopifyAdmin) -> None:
    responses.post(ENDPOINT, json={"data": {"product": product(), "shop": {
        "primaryDomain": {"url": "https://toko-kliqs.example/"}}}})
    assert admin.product_for_shortlink(GID).url == "https://toko-kliqs.example/products/vps-murah"


@responses.activate
def test_existing_metafield_value_is_returned_for_echo_detection(admin: ShopifyAdmin) -> None:
    responses.post(ENDPOINT, json={"data": {"product": product(
        metafield={"value": "https://kliqs.me/vps-murah"}), "shop": SHOP_DATA}})
    target = admin.product_for_shortlink(GID)
    assert target.short_url == "https://kliqs.me/vps-murah"
    assert target.is_active


@responses.activate
def test_missing_product_raises_not_found(admin: ShopifyAdmin) -> None:
    responses.post(ENDPOINT, json={"data": {"product": None, "shop": SHOP_DATA}})
    with pytest.raises(ProductNotFound, match=GID):
        admin.product_for_shortlink(GID)


@responses.activate
def test_set_short_url_sends_kliqs_url_metafield(admin: ShopifyAdmin) -> None:
    responses.post(ENDPOINT, json={"data": {"metafieldsSet": {
        "metafields": [{"id": "gid://shopify/Metafield/1"}], "userErrors": []}}})
    admin.set_short_url(9554194432293, "https://kliqs.me/vps-murah")  # type: ignore[arg-type]
    body = sent_body()
    assert body["operationName"] == "SetShortlink"
    assert body["variables"] == {"metafields": [{
        "ownerId": GID, "namespace": "kliqs", "key": "short_url", "type": "url",
        "value": "https://kliqs.me/vps-murah"}]}


@responses.activate
def test_set_short_url_surfaces_user_errors(admin: ShopifyAdmin) -> None:
    responses.post(ENDPOINT, json={"data": {"metafieldsSet": {"metafields": None, "userErrors": [
        {"field": ["metafields", "0", "type"], "message": "Type must be url",
         "code": "INVALID_TYPE", "elementIndex": 0}]}}})
    with pytest.raises(GraphQLUserError, match="Type must be url"):
        admin.set_short_url(GID, "https://kliqs.me/x")


@responses.activate
def test_sync_pages_through_products_and_skips_shortened_ones(admin: ShopifyAdmin) -> None:
    page1 = {"nodes": [product(id="gid://shopify/Product/1", handle="a"),
                       product(id="gid://shopify/Product/2", handle="b",
                               metafield={"value": "https://kliqs.me/b"})],
             "pageInfo": {"hasNextPage": True, "endCursor": "c2"}}
    page2 = {"nodes": [product(id="gid://shopify/Product/3", handle="c")],
             "pageInfo": {"hasNextPage": False, "endCursor": "c3"}}
    responses.post(ENDPOINT, json={"data": {"products": page1, "shop": SHOP_DATA}})
    responses.post(ENDPOINT, json={"data": {"products": page2, "shop": SHOP_DATA}})
    targets = list(admin.iter_products_without_shortlink(page_size=2))
    assert [t.gid for t in targets] == ["gid://shopify/Product/1", "gid://shopify/Product/3"]
    assert targets[1].url == "https://toko-kliqs.example/products/c"
    assert sent_body(0)["variables"] == {"first": 2, "after": None}
    assert sent_body(1)["variables"] == {"first": 2, "after": "c2"}


def test_product_gid_accepts_numbers_and_gids() -> None:
    assert product_gid(42) == "gid://shopify/Product/42"
    assert product_gid("gid://shopify/Product/42") == "gid://shopify/Product/42"


def test_settings_read_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("SHOPIFY_SHOP", SHOP)
    monkeypatch.setenv("SHOPIFY_ACCESS_TOKEN", "shpat_env")
    monkeypatch.setenv("SHOPIFY_WEBHOOK_SECRETS", " new-secret , old-secret ,")
    monkeypatch.setenv("SHOPIFY_ADMIN_URL", "http://127.0.0.1:8701")
    settings = ShopifySettings()
    assert settings.webhook_secrets == ["new-secret", "old-secret"]
    assert settings.api_version == "2026-07"
    assert "shpat_env" not in repr(settings) and "new-secret" not in repr(settings)
    admin = ShopifyAdmin.from_settings(settings)
    assert admin.endpoint == "http://127.0.0.1:8701/admin/api/2026-07/graphql.json"
    assert admin.client.headers["X-Shopify-Access-Token"] == "shpat_env"


def test_unconfigured_settings_fail_with_variable_names(monkeypatch: pytest.MonkeyPatch) -> None:
    for name in ("SHOPIFY_SHOP", "SHOPIFY_ACCESS_TOKEN", "SHOPIFY_WEBHOOK_SECRETS"):
        monkeypatch.delenv(name, raising=False)
    settings = ShopifySettings()
    assert settings.webhook_secrets == []
    with pytest.raises(ShopifyNotConfigured, match="SHOPIFY_SHOP, SHOPIFY_ACCESS_TOKEN"):
        ShopifyAdmin.from_settings(settings)
