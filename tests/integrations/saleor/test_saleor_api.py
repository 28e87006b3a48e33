"""SaleorAPI: metadata write-back, product lookup, storefront URL, settings."""

from __future__ import annotations

import json
from typing import Any

import pytest
import responses

from integrations.saleor.api import ProductNotFound, SaleorAPI
from integrations.saleor.settings import SaleorNotConfigured, SaleorSettings
from integrations.shopify.graphql import GraphQLResponseError, GraphQLUserError

API_URL = "https://saleor.example/graphql/"
PRODUCT_ID = "UHJvZHVjdDoxNzI="


@pytest.fixture
def api() -> SaleorAPI:
    return SaleorAPI(API_URL, "app-token",
                     storefront_url_template="https://store.example/products/{slug}/")


def sent_body() -> dict[str, Any]:
    body = responses.calls[0].request.body
    assert body is not None
    decoded: dict[str, Any] = json.loads(body)
    return decoded


@responses.activate
def test_set_short_url_sends_update_metadata_with_bearer_token(api: SaleorAPI) -> None:
    responses.post(API_URL, json={"data": {"updateMetadata": {
        "errors": [], "item": {"metafield": "https://kliqs.me/vps-murah"}}}})
    api.set_short_url(PRODUCT_ID, "https://kliqs.me/vps-murah")
    assert responses.calls[0].request.headers["Authorization"] == "Bearer app-token"
    body = sent_body()
    assert body["operationName"] == "UpdateShortlinkMetadata"
    assert body["variables"] == {"id": PRODUCT_ID, "input": [
        {"key": "kliqs_short_url", "value": "https://kliqs.me/vps-murah"}]}


@responses.activate
def test_metadata_errors_are_user_errors(api: SaleorAPI) -> None:
    responses.post(API_URL, json={"data": {"updateMetadata": {"errors": [
        {"field": "id", "message": "Couldn't resolve to a node: X", "code": "NOT_FOUND"}],
        "item": None}}})
    with pytest.raises(GraphQLUserError) as caught:
        api.set_short_url("X", "https://kliqs.me/x")
    assert caught.value.codes == ("NOT_FOUND",)
    assert not caught.value.is_transient


@responses.activate
def test_permission_denied_is_a_permanent_response_error(api: SaleorAPI) -> None:
    responses.post(API_URL, json={"data": {"updateMetadata": None}, "errors": [{
        "message": "You need one of the following permissions: MANAGE_PRODUCTS",
        "extensions": {"exception": {"code": "PermissionDenied"}}}]})
    with pytest.raises(GraphQLResponseError, match="MANAGE_PRODUCTS") as caught:
        api.set_short_url(PRODUCT_ID, "https://kliqs.me/x")
    assert not caught.value.is_transient


@responses.activate
def test_product_lookup_parses_listings_and_metadata(api: SaleorAPI) -> None:
    responses.post(API_URL, json={"data": {"product": {
        "id": PRODUCT_ID, "name": "VPS Murah", "slug": "vps-murah",
        "updatedAt": "2026-07-14T03:21:08+00:00",
        "metadata": [{"key": "kliqs_short_url", "value": "https://kliqs.me/vps-murah"}],
        "channelListings": [{"isPublished": True, "channel": {"slug": "default-channel"}}]}}})
    product = api.product(PRODUCT_ID)
    assert product.short_url == "https://kliqs.me/vps-murah"
    assert product.is_published is True
    assert sent_body()["variables"] == {"id": PRODUCT_ID}


@responses.activate
def test_missing_product_raises_not_found(api: SaleorAPI) -> None:
    responses.post(API_URL, json={"data": {"product": None}})
    with pytest.raises(ProductNotFound):
        api.product(PRODUCT_ID)


def test_product_url_fills_slug_into_template(api: SaleorAPI) -> None:
    assert api.product_url("vps-murah") == "https://store.example/products/vps-murah/"
    assert api.product_url("kopi susu/2") == "https://store.example/products/kopi%20susu%2F2/"


def test_product_url_without_template_is_a_configuration_error() -> None:
    with pytest.raises(SaleorNotConfigured, match="SALEOR_STOREFRONT_URL_TEMPLATE"):
        SaleorAPI(API_URL, "t").product_url("x")


def test_settings_from_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("SALEOR_API_URL", API_URL)
    monkeypatch.setenv("SALEOR_APP_TOKEN", "env-token")
    monkeypatch.setenv("SALEOR_STOREFRONT_URL_TEMPLATE", "https://store.example/p/{slug}")
    monkeypatch.delenv("SALEOR_JWKS_URL", raising=False)
    settings = SaleorSettings()
    assert settings.jwks_url_effective == "https://saleor.example/.well-known/jwks.json"
    assert "env-token" not in repr(settings)
    api = SaleorAPI.from_settings(settings)
    assert api.client.headers["Authorization"] == "Bearer env-token"
    assert api.product_url("a") == "https://store.example/p/a"


def test_explicit_jwks_url_wins(monkeypatch: pytest.MonkeyPatch) -> None:
    settings = SaleorSettings(api_url=API_URL, jwks_url="https://keys.example/jwks.json")
    assert settings.jwks_url_effective == "https://keys.example/jwks.json"


def test_template_without_slug_is_rejected() -> None:
    with pytest.raises(ValueError, match=r"must contain \{slug\}"):
        SaleorSettings(storefront_url_template="https://store.example/products/")


def test_unconfigured_api_names_the_variables(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("SALEOR_API_URL", raising=False)
    monkeypatch.delenv("SALEOR_APP_TOKEN", raising=False)
    with pytest.raises(SaleorNotConfigured, match="SALEOR_API_URL, SALEOR_APP_TOKEN"):
        SaleorAPI.from_settings(SaleorSettings())
