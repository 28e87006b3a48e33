"""The fixtures themselves: WooCommerce's exact encoding, signatures over raw bytes, scrubbed recordings."""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path

import pytest
import yaml

from integrations.woocommerce.webhooks import is_ping, parse_product, verify_signature
from tests.standins.woocommerce_standin import wp_json_encode

Fixture = Callable[[str], bytes]
Sign = Callable[[bytes, str], str]
PAYLOADS = ["product.created.publish.json", "product.created.draft.json", "product.updated.echo.json"]
REST_DIR = Path(__file__).parent / "fixtures" / "rest"


@pytest.mark.parametrize("name", PAYLOADS)
def test_payload_fixture_is_in_wp_json_encode_form(name: str, fixture_bytes: Fixture) -> None:
    raw = fixture_bytes(name)
    assert b"\\/" in raw and b"https://" not in raw
    assert not raw.endswith((b"\n", b" "))  # WooCommerce trims the body
    assert wp_json_encode(json.loads(raw)) == raw


@pytest.mark.parametrize("name", PAYLOADS)
def test_signature_over_raw_fixture_bytes_verifies(
    name: str, fixture_bytes: Fixture, sign: Sign, secret: str
) -> None:
    raw = fixture_bytes(name)
    assert verify_signature(raw, sign(raw, secret), secret) is True


@pytest.mark.parametrize("name", PAYLOADS)
@pytest.mark.parametrize(
    "reserialise",
    [
        lambda data: json.dumps(data).encode(),
        lambda data: json.dumps(data, separators=(",", ":")).encode(),
        lambda data: json.dumps(data, separators=(",", ":"), ensure_ascii=False).encode(),
    ],
    ids=["json.dumps", "compact", "compact-utf8"],
)
def test_reserialised_body_no_longer_verifies(
    name: str, reserialise: Callable[[object], bytes], fixture_bytes: Fixture, sign: Sign,
    secret: str,
) -> None:
    raw = fixture_bytes(name)
    signature = sign(raw, secret)
    again = reserialise(json.loads(raw))
    assert json.loads(again) == json.loads(raw)  # same data ...
    assert verify_signature(again, signature, secret) is False  # ... different bytes


def test_ping_fixture_is_a_ping(fixture_bytes: Fixture) -> None:
    assert is_ping(fixture_bytes("ping.txt"), {"User-Agent": "WooCommerce/9.8.5 Hookshot"})


def test_product_fixtures_describe_the_same_product_before_and_after_write_back(
    fixture_bytes: Fixture,
) -> None:
    created = parse_product(fixture_bytes("product.created.publish.json"))
    echo = parse_product(fixture_bytes("product.updated.echo.json"))
    assert (created.id, created.permalink) == (echo.id, echo.permalink)
    assert echo.date_modified_gmt is not None and created.date_modified_gmt is not None
    assert echo.date_modified_gmt > created.date_modified_gmt


@pytest.mark.parametrize("path", sorted(REST_DIR.glob("*.yaml")), ids=lambda p: p.name)
def test_rest_recordings_follow_the_recorder_schema_and_hold_no_secrets(path: Path) -> None:
    text = path.read_text()
    for needle in ("?", "oauth_", "consumer_key", "consumer_secret", "ck_recording",
                   "cs_recording", "127.0.0.1", "Authorization"):  # fmt: skip
        assert needle not in text.replace("?post_type", ""), needle
    entries = yaml.safe_load(text)["responses"]
    assert entries
    for entry in entries:
        response = entry["response"]
        assert response["url"].startswith("https://toko-contoh.example/wp-json/wc/v3/products")
        assert response["method"] in ("GET", "PUT")
        body = json.loads(response["body"])
        if response["status"] >= 400:
            assert set(body) >= {"code", "message", "data"}
            assert body["data"]["status"] == response["status"]


def test_rest_recordings_cover_every_answer_the_client_handles() -> None:
    assert {p.name for p in REST_DIR.glob("*.yaml")} == {
        "get_products_2_pages.yaml", "get_product.yaml", "put_product.yaml",
        "error_401_cannot_view.yaml", "error_404_invalid_id.yaml", "error_500.yaml",
    }  # fmt: skip
