"""``POST /webhooks/saleor`` on the connector app: JWS against the JWKS, store, answer."""

from __future__ import annotations

import hashlib
import json
import socket

import pytest

from integrations.saleor.plugin import load_settings
from kliqs_core.connector import ConnectorConfigError
from kliqs_core.connector.testing import TestRuntime
from tests.integrations.saleor.saleor_testing import DOMAIN, Deliver, event, stored
from tests.integrations.shopify.shopify_testing import inbox
from tests.standins.saleor_standin import SaleorSigner, SaleorStandin, relay_id, webhook_headers


def test_jws_signed_product_created_is_stored_and_queued(
    rt: TestRuntime, deliver: Deliver, shop: str, standin: SaleorStandin
) -> None:
    body = json.dumps(event(1, "VPS Murah", slug="vps-murah")).encode()

    response = deliver(body)

    assert response.status_code == 200
    assert response.json()["data"] == {"status": "accepted", "reason": None}
    product = stored(shop, 1)
    assert product.title == "VPS Murah" and product.state == "received"
    assert product.data == {"slug": "vps-murah", "domain": DOMAIN}
    assert rt.enqueued == [product.id]
    key = "sha256:" + hashlib.sha256(body).hexdigest()
    assert inbox(rt.database) == [(key, "product_created", "accepted", None)]
    assert standin.jwks_requests == 1


@pytest.mark.parametrize("case", ["tampered body", "wrong key", "unknown kid", "missing",
                                  "not a jws"])
def test_bad_signature_is_401_and_nothing_is_stored(
    rt: TestRuntime, deliver: Deliver, standin: SaleorStandin, case: str
) -> None:
    body = json.dumps(event(2, "Kaos Polos")).encode()
    signer = {"wrong key": SaleorSigner("1"), "unknown kid": SaleorSigner("rogue")}.get(
        case, standin.signer)
    headers = webhook_headers(body, signer=signer, domain=DOMAIN)
    if case == "tampered body":
        body = body.replace(b"Kaos Polos", b"Kaos Palsu")
    elif case == "missing":
        del headers["Saleor-Signature"]
    elif case == "not a jws":
        headers["Saleor-Signature"] = "deadbeef" * 8  # hex, but no legacy secret configured

    response = deliver.web.post("/webhooks/saleor", content=body, headers=headers)

    assert response.status_code == 401
    assert response.json()["error"] == "INVALID_SIGNATURE"
    assert inbox(rt.database) == [] and rt.enqueued == []


def test_unknown_kid_makes_the_connector_fetch_the_keys_again(
    rt: TestRuntime, deliver: Deliver, standin: SaleorStandin
) -> None:
    deliver(event(3, "Gula Aren"))
    assert standin.jwks_requests == 1

    rotated = standin.rotate_key("2")  # Saleor rotated its key
    response = deliver(event(4, "Kopi Gayo"), signer=rotated)

    assert response.status_code == 200 and standin.jwks_requests == 2


def test_unreachable_jwks_is_503_so_saleor_retries(
    rt: TestRuntime, deliver: Deliver, monkeypatch: pytest.MonkeyPatch
) -> None:
    with socket.socket() as sock:  # a port nobody listens on
        sock.bind(("127.0.0.1", 0))
        dead = f"http://127.0.0.1:{sock.getsockname()[1]}/.well-known/jwks.json"
    monkeypatch.setenv("SALEOR_JWKS_URL", dead)
    from kliqs_core.connector import runtime

    runtime.load_plugins(("integrations.saleor",))  # setup again, with the dead URL

    response = deliver(event(5, "Teh Tarik"))

    assert response.status_code == 503
    assert response.json()["error"] == "JWKS_UNAVAILABLE"
    assert inbox(rt.database) == []


def test_legacy_hex_hmac_only_with_a_configured_secret(
    rt: TestRuntime, deliver: Deliver, monkeypatch: pytest.MonkeyPatch
) -> None:
    refused = deliver(event(6, "Madu"), legacy_secret="s3cr3t")
    assert refused.status_code == 401

    monkeypatch.setenv("SALEOR_WEBHOOK_SECRET", "s3cr3t")
    from kliqs_core.connector import runtime

    runtime.load_plugins(("integrations.saleor",))

    assert deliver(event(6, "Madu"), legacy_secret="s3cr3t").status_code == 200
    assert deliver(event(7, "Madu"), legacy_secret="other").status_code == 401


def test_replayed_body_is_one_delivery_whatever_the_header_names(
    rt: TestRuntime, deliver: Deliver, shop: str
) -> None:
    body = json.dumps(event(8, "Sambal")).encode()
    deliver(body)
    again = deliver(body)
    legacy_names = deliver(body, deprecated_names=True)

    assert again.json()["data"]["reason"] == "duplicate_delivery"
    assert legacy_names.json()["data"]["reason"] == "duplicate_delivery"
    assert len(inbox(rt.database)) == 1 and rt.enqueued == [stored(shop, 8).id]


def test_a_delivery_claiming_another_domain_still_lands_on_the_same_product(
    rt: TestRuntime, deliver: Deliver, shop: str
) -> None:
    deliver(event(9, "Rendang"))
    # Saleor-Domain is outside the signature: the shop key comes from the configuration.
    other = deliver(event(9, "Rendang") | {"issuedAt": "2026-07-02T00:00:00Z"},
                    domain="evil.example")

    assert other.json()["data"] == {"status": "accepted", "reason": "pending"}
    assert rt.enqueued == [stored(shop, 9).id]


def test_update_of_a_waiting_product_is_not_queued_again(
    rt: TestRuntime, deliver: Deliver, shop: str
) -> None:
    deliver(event(10, "Tempe"))
    update = deliver(event(10, "Tempe Mendoan") | {"issuedAt": "2026-07-02T00:00:00Z"},
                     event="product_updated")

    assert update.json()["data"] == {"status": "accepted", "reason": "pending"}
    assert stored(shop, 10).title == "Tempe Mendoan" and len(rt.enqueued) == 1


def test_unpublished_product_waits_for_its_publication(
    rt: TestRuntime, deliver: Deliver, shop: str
) -> None:
    hidden = deliver(event(11, "Keripik", published=False))
    assert hidden.json()["data"] == {"status": "ignored", "reason": "not published in any channel"}
    assert rt.enqueued == []

    deliver(event(11, "Keripik"), event="product_updated")
    assert rt.enqueued == [stored(shop, 11).id]


def test_echo_carrying_our_metadata_is_ignored(rt: TestRuntime, deliver: Deliver) -> None:
    echo = deliver(event(12, "Batik", short_url="https://kliqs.me/batik"), event="product_updated")

    assert echo.json()["data"] == {
        "status": "ignored", "reason": "echo: the payload carries kliqs_short_url already"}
    assert rt.enqueued == []


def test_update_after_the_write_back_is_ignored_as_echo(
    rt: TestRuntime, deliver: Deliver, standin: SaleorStandin, shop: str
) -> None:
    standin.add_product(13, "Bakpia", slug="bakpia")
    deliver(event(13, "Bakpia", slug="bakpia"))
    rt.run_queued()
    assert stored(shop, 13).state == "notified"

    # An update that does not carry the metadata (a subscription without it).
    echo = deliver(event(13, "Bakpia", slug="bakpia") | {"issuedAt": "2026-07-03T00:00:00Z"},
                   event="product_updated")

    assert echo.json()["data"] == {
        "status": "ignored", "reason": "echo: already shortened as https://kliqs.test/bakpia"}
    assert len(standin.mutations) == 1


def test_other_events_are_stored_as_ignored(rt: TestRuntime, deliver: Deliver) -> None:
    response = deliver(event(14, "Dodol"), event="product_metadata_updated")

    assert response.json()["data"] == {
        "status": "ignored", "reason": "event product_metadata_updated not handled"}


def test_signed_but_malformed_payload_is_stored_rejected_and_answered_400(
    rt: TestRuntime, deliver: Deliver
) -> None:
    response = deliver(b'{"issuedAt": null}')

    assert response.status_code == 400  # Saleor shows it as failed and does not retry it
    assert response.json() == {
        "success": False, "error": "UNUSABLE_PAYLOAD",
        "message": "payload has no product (check the subscription query)"}
    assert [row[2:] for row in inbox(rt.database)] == [
        ("rejected", "payload has no product (check the subscription query)")]
    assert rt.enqueued == []


def test_setup_without_required_settings_names_each_one(monkeypatch: pytest.MonkeyPatch) -> None:
    for name in ("SALEOR_API_URL", "SALEOR_APP_TOKEN", "SALEOR_STOREFRONT_URL_TEMPLATE"):
        monkeypatch.setenv(name, "")

    with pytest.raises(ConnectorConfigError) as caught:
        load_settings()

    assert str(caught.value) == ("saleor: missing setting(s): SALEOR_API_URL, SALEOR_APP_TOKEN, "
                                 "SALEOR_STOREFRONT_URL_TEMPLATE")


def test_template_without_slug_stops_the_start(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("SALEOR_STOREFRONT_URL_TEMPLATE", "https://toko.example/products/")

    with pytest.raises(ConnectorConfigError, match="must contain {slug}"):
        load_settings()


def test_relay_ids_are_the_product_keys() -> None:
    assert relay_id("Product", 172) == "UHJvZHVjdDoxNzI="
