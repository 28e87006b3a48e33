"""Saleor pieces against the Saleor stand-in (GraphQL + JWKS) over real HTTP."""

from __future__ import annotations

import json
from collections.abc import Iterator

import pytest

from integrations.saleor.api import SaleorAPI
from integrations.saleor.jwks import JwksCache
from integrations.saleor.webhooks import (
    SaleorDelivery,
    parse_product_event,
    should_shorten,
    verify_jws,
)
from integrations.shopify.graphql import GraphQLHTTPError, GraphQLUserError
from tests.standins.saleor_standin import (
    SaleorSigner,
    SaleorStandin,
    product_event_payload,
    webhook_headers,
)


@pytest.fixture(scope="module")
def standin() -> Iterator[SaleorStandin]:
    with SaleorStandin() as running:
        yield running


class Clock:
    def __init__(self) -> None:
        self.now = 0.0

    def __call__(self) -> float:
        return self.now


def test_signed_delivery_verifies_against_standin_jwks(standin: SaleorStandin) -> None:
    product_id = standin.add_product(172, "VPS Murah")
    body = json.dumps(product_event_payload(product_id, "VPS Murah")).encode()
    headers = webhook_headers(body, signer=standin.signer, event="product_created")
    cache = JwksCache(standin.jwks_url)
    delivery = SaleorDelivery.from_headers(headers)
    assert verify_jws(body, delivery.signature, cache)
    assert not verify_jws(body.replace(b"VPS", b"VPN"), delivery.signature, cache)
    forged = SaleorSigner("1")  # same kid, key the shop never published
    assert not verify_jws(body, forged.sign(body), cache)
    event = parse_product_event(body)
    assert event.product.id == product_id and should_shorten(event.product)


def test_key_rotation_is_picked_up_by_one_refetch(standin: SaleorStandin) -> None:
    clock = Clock()
    cache = JwksCache(standin.jwks_url, clock=clock)
    body = b'{"product": {"id": "UHJvZHVjdDox"}}'
    before = standin.jwks_requests
    assert verify_jws(body, standin.signer.sign(body), cache)
    new_signer = standin.rotate_key("2")
    clock.now += 60
    assert verify_jws(body, new_signer.sign(body), cache)
    assert standin.jwks_requests - before == 2
    assert cache.fetch_count == 2


def test_write_back_over_http(standin: SaleorStandin) -> None:
    product_id = standin.add_product(200, "Kaos Polos")
    api = SaleorAPI(standin.api_url, standin.app_token,
                    storefront_url_template="https://store.example/products/{slug}")
    product = api.product(product_id)
    assert api.product_url(product.slug) == "https://store.example/products/kaos-polos"
    api.set_short_url(product_id, "https://kliqs.me/kaos-polos")
    stored = standin.products[product_id]["metadata"]
    assert stored["kliqs_short_url"] == "https://kliqs.me/kaos-polos"
    assert standin.mutations[-1]["updateMetadata"]["id"] == product_id
    assert api.product(product_id).short_url == "https://kliqs.me/kaos-polos"


def test_unknown_product_write_back_is_a_user_error(standin: SaleorStandin) -> None:
    api = SaleorAPI(standin.api_url, standin.app_token)
    with pytest.raises(GraphQLUserError) as caught:
        api.set_short_url("UHJvZHVjdDo5OTk5", "https://kliqs.me/x")
    assert caught.value.codes == ("NOT_FOUND",)


def test_wrong_app_token_is_refused(standin: SaleorStandin) -> None:
    api = SaleorAPI(standin.api_url, "wrong")
    with pytest.raises(GraphQLHTTPError) as caught:
        api.product("UHJvZHVjdDox")
    assert caught.value.status == 401


def test_signer_round_trips_through_pem(standin: SaleorStandin) -> None:
    copy = SaleorSigner.from_pem(standin.signers[0].pem(), kid="1")
    body = b"{}"
    assert verify_jws(body, copy.sign(body), JwksCache(standin.jwks_url))
