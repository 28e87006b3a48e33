"""Saleor webhooks: detached RS256 JWS against a JWKS, legacy HMAC, headers, payloads."""

from __future__ import annotations

import hashlib
import hmac
import json
from pathlib import Path
from typing import Any

import jwt
import pytest
import requests
import responses
from cryptography.hazmat.primitives.asymmetric import rsa
from jwt import api_jws
from jwt.algorithms import RSAAlgorithm

from integrations.saleor.jwks import JwksCache, JwksUnavailable, jwks_url_for
from integrations.saleor.settings import SaleorSettings
from integrations.saleor.webhooks import (
    ChannelListing,
    MalformedPayload,
    SaleorDelivery,
    SaleorSignatureVerifier,
    parse_product_event,
    should_shorten,
    signature_from_headers,
    verify_jws,
    verify_legacy_hmac,
    verify_signature,
)

FIXTURES = Path(__file__).parent / "fixtures"
JWKS_URL = "https://saleor.example/.well-known/jwks.json"
# Fresh keys for this test run; 2048 bits as Saleor uses.
KEY = rsa.generate_private_key(public_exponent=65537, key_size=2048)
OTHER_KEY = rsa.generate_private_key(public_exponent=65537, key_size=2048)


def fixture(name: str) -> bytes:
    return (FIXTURES / name).read_bytes()


def saleor_sign(body: bytes, key: rsa.RSAPrivateKey = KEY, kid: str = "1") -> str:
    """What saleor/core/jwt_manager.py does for a webhook without secret_key."""
    return api_jws.encode(body, key, algorithm="RS256", headers={"kid": kid},
                          is_payload_detached=True)


def jwks(*pairs: tuple[rsa.RSAPrivateKey, str]) -> dict[str, Any]:
    keys = []
    for key, kid in pairs:
        jwk = json.loads(RSAAlgorithm.to_jwk(key.public_key()))
        jwk.update({"use": "sig", "kid": kid})
        keys.append(jwk)
    return {"keys": keys}


class Clock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


@pytest.fixture
def clock() -> Clock:
    return Clock()


@pytest.fixture
def cache(clock: Clock) -> JwksCache:
    return JwksCache(JWKS_URL, ttl=300, refetch_cooldown=10, clock=clock)


# -- JWS --------------------------------------------------------------------------------------
def test_signature_has_saleor_detached_b64_false_shape() -> None:
    signature = saleor_sign(b"{}")
    header_segment, payload_segment, _ = signature.split(".")
    assert payload_segment == ""
    assert jwt.get_unverified_header(signature) == {
        "alg": "RS256", "b64": False, "crit": ["b64"], "kid": "1", "typ": "JWT"}
    assert header_segment


@responses.activate
def test_valid_jws_verifies_with_key_from_jwks(cache: JwksCache) -> None:
    responses.get(JWKS_URL, json=jwks((KEY, "1")))
    body = fixture("product_created.json")
    assert verify_jws(body, saleor_sign(body), cache)
    assert verify_jws(body, saleor_sign(body), cache)
    assert cache.fetch_count == 1  # cached


@responses.activate
def test_tampered_body_is_refused(cache: JwksCache) -> None:
    responses.get(JWKS_URL, json=jwks((KEY, "1")))
    body = fixture("product_created.json")
    signature = saleor_sign(body)
    assert not verify_jws(body.replace(b"VPS Murah", b"VPS Gratis"), signature, cache)
    assert not verify_jws(body + b"\n", signature, cache)


@responses.activate
def test_signature_by_wrong_key_is_refused(cache: JwksCache) -> None:
    responses.get(JWKS_URL, json=jwks((KEY, "1")))
    body = fixture("product_created.json")
    assert not verify_jws(body, saleor_sign(body, key=OTHER_KEY, kid="1"), cache)


@responses.activate
def test_unknown_kid_is_refused_after_exactly_one_refetch(
    cache: JwksCache, clock: Clock
) -> None:
    responses.get(JWKS_URL, json=jwks((KEY, "1")))
    body = fixture("product_created.json")
    assert verify_jws(body, saleor_sign(body), cache)
    assert cache.fetch_count == 1
    clock.now += 60
    assert not verify_jws(body, saleor_sign(body, key=OTHER_KEY, kid="2"), cache)
    assert cache.fetch_count == 2
    assert len(responses.calls) == 2
    # A flood of forged kids right after does not hammer the shop's JWKS.
    clock.now += 1
    assert not verify_jws(body, saleor_sign(body, key=OTHER_KEY, kid="3"), cache)
    assert cache.fetch_count == 2


@responses.activate
def test_rotated_key_is_found_by_the_refetch(cache: JwksCache, clock: Clock) -> None:
    responses.get(JWKS_URL, json=jwks((KEY, "1")))
    responses.get(JWKS_URL, json=jwks((KEY, "1"), (OTHER_KEY, "2")))
    body = fixture("product_updated.json")
    assert verify_jws(body, saleor_sign(body), cache)
    clock.now += 60
    assert verify_jws(body, saleor_sign(body, key=OTHER_KEY, kid="2"), cache)
    assert cache.fetch_count == 2


@responses.activate
def test_unknown_kid_on_first_fetch_does_not_fetch_twice(cache: JwksCache) -> None:
    responses.get(JWKS_URL, json=jwks((KEY, "1")))
    body = b"{}"
    assert not verify_jws(body, saleor_sign(body, kid="9"), cache)
    assert cache.fetch_count == 1


@responses.activate
def test_keys_are_refetched_after_ttl(cache: JwksCache, clock: Clock) -> None:
    responses.get(JWKS_URL, json=jwks((KEY, "1")))
    body = b"{}"
    assert verify_jws(body, saleor_sign(body), cache)
    clock.now += 301
    assert verify_jws(body, saleor_sign(body), cache)
    assert cache.fetch_count == 2


@responses.activate
def test_unreachable_jwks_raises_unavailable_not_false(cache: JwksCache) -> None:
    responses.get(JWKS_URL, body=requests.ConnectionError("refused"))
    with pytest.raises(JwksUnavailable) as caught:
        verify_jws(b"{}", saleor_sign(b"{}"), cache)
    assert caught.value.is_transient
    assert isinstance(caught.value.__cause__, requests.ConnectionError)


@responses.activate
def test_failed_refresh_keeps_cached_keys(cache: JwksCache, clock: Clock) -> None:
    responses.get(JWKS_URL, json=jwks((KEY, "1")))
    responses.get(JWKS_URL, status=503)
    assert verify_jws(b"{}", saleor_sign(b"{}"), cache)
    clock.now += 301
    assert verify_jws(b"{}", saleor_sign(b"{}"), cache)
    assert cache.fetch_count == 2


@pytest.mark.parametrize("document", [{"keys": []}, {"nope": 1}, [], {"keys": [{"kty": "EC"}]}])
@responses.activate
def test_jwks_without_usable_rsa_key_is_unavailable(cache: JwksCache, document: Any) -> None:
    responses.get(JWKS_URL, json=document)
    with pytest.raises(JwksUnavailable, match="no usable RSA"):
        verify_jws(b"{}", saleor_sign(b"{}"), cache)


@responses.activate
def test_non_detached_or_other_algorithms_are_refused(cache: JwksCache) -> None:
    responses.get(JWKS_URL, json=jwks((KEY, "1")))
    body = b'{"product": {"id": "UHJvZHVjdDox"}}'
    attached = api_jws.encode(body, KEY, algorithm="RS256", headers={"kid": "1"})
    assert not verify_jws(body, attached, cache)
    hs = api_jws.encode(body, "k" * 32, algorithm="HS256", headers={"kid": "1"},
                        is_payload_detached=True)
    assert not verify_jws(body, hs, cache)
    unsigned = api_jws.encode(body, None, algorithm="none",  # type: ignore[arg-type]
                              headers={"kid": "1"},
                              is_payload_detached=True)
    assert not verify_jws(body, unsigned, cache)
    for junk in ("", "abc", "a..b", "..", "x.y.z"):
        assert not verify_jws(body, junk, cache)


def test_jwks_url_is_derived_from_configured_api_url() -> None:
    assert jwks_url_for("https://shop.example/graphql/") == JWKS_URL.replace(
        "saleor.example", "shop.example")


# -- legacy HMAC ------------------------------------------------------------------------------
def hex_hmac(body: bytes, secret: str) -> str:
    return hmac.new(secret.encode(), body, hashlib.sha256).hexdigest()


def test_legacy_hmac_valid_and_forged() -> None:
    body = fixture("product_created.json")
    assert verify_legacy_hmac(body, hex_hmac(body, "s3cret"), "s3cret")
    assert verify_legacy_hmac(body, hex_hmac(body, "s3cret").upper(), "s3cret")
    assert not verify_legacy_hmac(body, hex_hmac(body, "other"), "s3cret")
    assert not verify_legacy_hmac(body + b" ", hex_hmac(body, "s3cret"), "s3cret")


def test_legacy_hmac_only_when_secret_configured() -> None:
    body = fixture("product_created.json")
    signature = hex_hmac(body, "s3cret")
    assert verify_signature(body, signature, jwks=None, legacy_secret="s3cret")
    assert not verify_signature(body, signature, jwks=None, legacy_secret=None)
    assert not verify_signature(body, signature, jwks=None, legacy_secret="")


@responses.activate
def test_dispatch_uses_jws_for_dotted_signatures(cache: JwksCache) -> None:
    responses.get(JWKS_URL, json=jwks((KEY, "1")))
    body = b"{}"
    assert verify_signature(body, saleor_sign(body), jwks=cache, legacy_secret="s3cret")
    assert not verify_signature(body, saleor_sign(body), jwks=None)
    assert not verify_signature(body, None, jwks=cache)


@responses.activate
def test_verifier_from_settings(monkeypatch: pytest.MonkeyPatch) -> None:
    responses.get(JWKS_URL, json=jwks((KEY, "1")))
    settings = SaleorSettings(api_url="https://saleor.example/graphql/", webhook_secret=None)
    verifier = SaleorSignatureVerifier.from_settings(settings)
    assert verifier.jwks is not None and verifier.jwks.jwks_url == JWKS_URL
    assert verifier.verify(b"{}", saleor_sign(b"{}"))
    assert not verifier.verify(b"{}", hex_hmac(b"{}", "s3cret"))
    unconfigured = SaleorSignatureVerifier.from_settings(SaleorSettings(api_url=None))
    assert not unconfigured.verify(b"{}", saleor_sign(b"{}"))


# -- headers ----------------------------------------------------------------------------------
def test_delivery_headers() -> None:
    delivery = SaleorDelivery.from_headers({
        "Saleor-Event": "product_created", "Saleor-Domain": "Saleor.Example",
        "Saleor-Signature": "h..s", "Saleor-Api-Url": "https://saleor.example/graphql/"})
    assert delivery == SaleorDelivery(event="product_created", domain="saleor.example",
                                      signature="h..s",
                                      api_url="https://saleor.example/graphql/")
    assert delivery.is_product_event


def test_deprecated_x_saleor_headers_are_read() -> None:
    headers = {"x-saleor-event": "PRODUCT_UPDATED", "x-saleor-domain": "saleor.example",
               "x-saleor-signature": "h..s"}
    delivery = SaleorDelivery.from_headers(headers)
    assert delivery.event == "product_updated" and delivery.is_product_event
    assert signature_from_headers(headers) == "h..s"


def test_missing_event_header_is_malformed() -> None:
    with pytest.raises(MalformedPayload, match="Saleor-Event"):
        SaleorDelivery.from_headers({"Saleor-Domain": "saleor.example"})


def test_other_events_are_not_product_events() -> None:
    delivery = SaleorDelivery.from_headers({"Saleor-Event": "product_deleted",
                                            "Saleor-Domain": "d"})
    assert not delivery.is_product_event


# -- payloads ---------------------------------------------------------------------------------
def test_parse_product_created_fixture() -> None:
    event = parse_product_event(fixture("product_created.json"))
    product = event.product
    assert product.id == "UHJvZHVjdDoxNzI="
    assert (product.name, product.slug) == ("VPS Murah", "vps-murah")
    assert product.channel_listings == (ChannelListing("default-channel", True),
                                        ChannelListing("channel-idr", False))
    assert product.short_url is None
    assert event.version == "3.21.4"
    assert event.issued_at is not None and event.issued_at.year == 2026
    assert should_shorten(product)


def test_parse_product_updated_fixture_carries_short_url_for_echo_detection() -> None:
    product = parse_product_event(fixture("product_updated.json")).product
    assert product.short_url == "https://kliqs.me/vps-murah"
    assert product.metadata_value("kliqs_short_url") == product.short_url


def test_unpublished_or_unknown_publication_is_not_shortened() -> None:
    data = json.loads(fixture("product_created.json"))
    for listing in data["product"]["channelListings"]:
        listing["isPublished"] = False
    assert not should_shorten(parse_product_event(json.dumps(data).encode()).product)
    del data["product"]["channelListings"]
    product = parse_product_event(json.dumps(data).encode()).product
    assert product.is_published is None and not should_shorten(product)


@pytest.mark.parametrize(
    ("body", "reason"),
    [
        (b"{not json", "not JSON"),
        (b'"product"', "not a JSON object"),
        (b'{"issuedAt": "2026-07-14T03:21:07+00:00"}', "has no product"),
        (b'{"product": null}', "has no product"),
        (b'{"product": {"name": "x"}}', "id must be a non-empty string"),
        (b'{"product": {"id": "UHJvZHVjdDox", "name": 5}}', "name must be a string"),
        (b'{"product": {"id": "UHJvZHVjdDox", "metadata": {"a": "b"}}}', "metadata must be a list"),
        (b'{"product": {"id": "UHJvZHVjdDox", "metadata": [{"value": "b"}]}}', "bad metadata"),
        (b'{"product": {"id": "UHJvZHVjdDox", "channelListings": [{"channel": {}}]}}',
         "bad channel listing"),
        (b'{"issuedAt": "soon", "product": {"id": "UHJvZHVjdDox"}}', "not an ISO-8601"),
    ],
)
def test_malformed_payloads_raise_typed_error(body: bytes, reason: str) -> None:
    with pytest.raises(MalformedPayload, match=reason):
        parse_product_event(body)
