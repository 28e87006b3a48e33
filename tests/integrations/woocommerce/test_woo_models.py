"""Parsing product payloads, and the shorten / echo decisions."""

from __future__ import annotations

import json
from collections.abc import Callable
from datetime import datetime, timezone
from typing import Any

import pytest

from integrations.woocommerce.errors import MalformedPayload
from integrations.woocommerce.models import (
    WooProduct,
    is_our_echo,
    parse_product,
    product_from_dict,
    should_shorten,
)

Fixture = Callable[[str], bytes]


def _product(**overrides: Any) -> dict[str, Any]:
    data: dict[str, Any] = {
        "id": 7, "name": "Sepatu", "slug": "sepatu", "status": "publish", "type": "simple",
        "permalink": "https://toko-contoh.example/product/sepatu/",
        "date_modified_gmt": "2025-03-04T02:14:02", "meta_data": [],
    }  # fmt: skip
    data.update(overrides)
    return data


def test_published_created_fixture_parses(fixture_bytes: Fixture) -> None:
    product = parse_product(fixture_bytes("product.created.publish.json"))
    assert product == WooProduct(
        id=101,
        name="VPS Murah",
        slug="vps-murah",
        permalink="https://toko-contoh.example/product/vps-murah/",
        status="publish",
        type="simple",
        date_modified_gmt=datetime(2025, 3, 4, 2, 14, 2, tzinfo=timezone.utc),
        meta={"garansi": "30 hari"},
    )
    assert product.short_url is None
    assert should_shorten(product) is True
    assert is_our_echo(product) is False


def test_draft_fixture_is_not_shortened(fixture_bytes: Fixture) -> None:
    product = parse_product(fixture_bytes("product.created.draft.json"))
    assert product.status == "draft"
    assert product.slug == ""
    assert product.permalink == "https://toko-contoh.example/?post_type=product&p=102"
    assert should_shorten(product) is False


def test_unicode_name_escaped_by_woocommerce_is_decoded(fixture_bytes: Fixture) -> None:
    raw = fixture_bytes("product.created.draft.json")
    assert b"\\u2013" in raw and b"\\u2615" in raw  # sent as \uXXXX escapes
    assert parse_product(raw).name == "Kopi Gayo Arabika – 250 g ☕"


def test_unicode_name_sent_as_raw_utf8_is_decoded() -> None:
    raw = json.dumps(_product(name="Batik Tulis – Motif Parang ✨"), ensure_ascii=False)
    assert parse_product(raw.encode("utf-8")).name == "Batik Tulis – Motif Parang ✨"


def test_our_own_write_back_is_recognised_as_echo(fixture_bytes: Fixture) -> None:
    product = parse_product(fixture_bytes("product.updated.echo.json"))
    assert product.short_url == "https://kliqs.me/vps-murah"
    assert is_our_echo(product) is True
    assert should_shorten(product) is False


@pytest.mark.parametrize("status", ["draft", "pending", "private", "future", "trash"])
def test_only_published_products_are_shortened(status: str) -> None:
    assert should_shorten(product_from_dict(_product(status=status))) is False


def test_variations_are_not_shortened() -> None:
    assert should_shorten(product_from_dict(_product(type="variation"))) is False


def test_empty_short_url_meta_is_not_an_echo() -> None:
    product = product_from_dict(_product(meta_data=[{"key": "kliqs_short_url", "value": ""}]))
    assert is_our_echo(product) is False
    assert should_shorten(product) is True


def test_first_meta_row_of_a_repeated_key_wins() -> None:
    rows = [{"id": 1, "key": "kliqs_short_url", "value": "https://kliqs.me/a"},
            {"id": 2, "key": "kliqs_short_url", "value": "https://kliqs.me/b"}]  # fmt: skip
    assert product_from_dict(_product(meta_data=rows)).short_url == "https://kliqs.me/a"


def test_missing_meta_data_means_no_meta() -> None:
    data = _product()
    del data["meta_data"]
    assert product_from_dict(data).meta == {}


def test_null_modified_date_is_none_and_offset_dates_become_utc() -> None:
    assert product_from_dict(_product(date_modified_gmt=None)).date_modified_gmt is None
    shifted = product_from_dict(_product(date_modified_gmt="2025-03-04T09:00:00+07:00"))
    assert shifted.date_modified_gmt == datetime(2025, 3, 4, 2, 0, tzinfo=timezone.utc)


def test_product_is_frozen_and_hashable() -> None:
    product = product_from_dict(_product())
    with pytest.raises(AttributeError):
        product.status = "draft"  # type: ignore[misc]
    assert hash(product) == hash(product_from_dict(_product()))


@pytest.mark.parametrize(
    "raw",
    [b"", b"{", b"webhook_id=7", b"\xff\xfe\x00", "{'id': 1}"],
    ids=["empty", "truncated", "form-body", "not-utf8", "python-repr"],
)
def test_malformed_json_raises_malformed_payload(raw: bytes | str) -> None:
    with pytest.raises(MalformedPayload, match="not valid JSON"):
        parse_product(raw)


@pytest.mark.parametrize("raw", [b"[]", b"[1,2]", b'"product"', b"101", b"null"])
def test_json_that_is_not_an_object_raises_malformed_payload(raw: bytes) -> None:
    with pytest.raises(MalformedPayload, match="JSON object"):
        parse_product(raw)


@pytest.mark.parametrize(
    ("overrides", "field"),
    [
        ({"id": "101"}, "id"),
        ({"id": True}, "id"),
        ({"id": 0}, "id"),
        ({"id": None}, "id"),
        ({"name": None}, "name"),
        ({"name": 5}, "name"),
        ({"status": ["publish"]}, "status"),
        ({"permalink": {"href": "x"}}, "permalink"),
        ({"type": None}, "type"),
        ({"date_modified_gmt": 20250304}, "date_modified_gmt"),
        ({"date_modified_gmt": "yesterday"}, "date_modified_gmt"),
        ({"meta_data": {"kliqs_short_url": "x"}}, "meta_data"),
        ({"meta_data": [{"value": "no key"}]}, "meta_data"),
        ({"meta_data": ["kliqs_short_url"]}, "meta_data"),
    ],
)
def test_wrong_shapes_raise_malformed_payload(overrides: dict[str, Any], field: str) -> None:
    with pytest.raises(MalformedPayload, match=field):
        parse_product(json.dumps(_product(**overrides)).encode())


@pytest.mark.parametrize("missing", ["id", "name", "slug", "permalink", "status", "type"])
def test_missing_fields_raise_malformed_payload_not_key_error(missing: str) -> None:
    data = _product()
    del data[missing]
    with pytest.raises(MalformedPayload, match=missing):
        product_from_dict(data)
