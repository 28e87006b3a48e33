"""The WooCommerce platform object: product URL, write-back, and error mapping (recorded REST)."""

from __future__ import annotations

import json
from collections.abc import Callable, Iterator
from typing import Any

import pytest
import requests
import responses

from integrations.woocommerce.api import WooCommerceClient
from integrations.woocommerce.errors import (
    WooAuthError,
    WooClientError,
    WooCommerceError,
    WooConnectionError,
    WooInvalidResponseError,
    WooNotFoundError,
    WooRateLimitError,
    WooServerError,
)
from integrations.woocommerce.platform import WooCommercePlatform, platform_error
from kliqs_core.connector import PermanentPlatformError, TransientPlatformError
from kliqs_core.connector.records import ProductRecord

SHOP = "https://toko-contoh.example"
ITEM = f"{SHOP}/wp-json/wc/v3/products/101"
SHORT = "https://kliqs.me/vps-murah"
Rest = Callable[[str], str]


@pytest.fixture
def mocked() -> Iterator[responses.RequestsMock]:
    with responses.RequestsMock(assert_all_requests_are_fired=True) as mock:
        yield mock


@pytest.fixture
def platform() -> WooCommercePlatform:
    return WooCommercePlatform(WooCommerceClient(SHOP, "ck_test_key", "cs_test_secret"))


def record(**fields: Any) -> ProductRecord:
    values: dict[str, Any] = dict(id=1, platform="woocommerce", shop="toko-contoh.example",
                                  product_id="101", title="VPS Murah", product_url=None,
                                  state="shortened")  # fmt: skip
    return ProductRecord(**{**values, **fields})


def _methods(mock: responses.RequestsMock) -> list[str]:
    return [str(call.request.method) for call in mock.calls]


def test_product_url_is_the_stored_permalink(platform: WooCommercePlatform) -> None:
    assert platform.product_url(record(product_url=f"{SHOP}/product/a/")) == f"{SHOP}/product/a/"
    assert platform.product_url(record(data={"permalink": f"{SHOP}/product/b/"})) == (
        f"{SHOP}/product/b/"
    )
    with pytest.raises(PermanentPlatformError) as caught:
        platform.product_url(record())
    assert caught.value.code == "WOOCOMMERCE_NO_PERMALINK"


def test_first_write_back_is_one_put_of_the_meta(
    platform: WooCommercePlatform, mocked: responses.RequestsMock, rest_fixture: Rest
) -> None:
    mocked._add_from_file(file_path=rest_fixture("put_product.yaml"))
    platform.write_back(record(), SHORT)
    assert _methods(mocked) == ["PUT"]
    assert json.loads(mocked.calls[0].request.body) == {
        "meta_data": [{"key": "kliqs_short_url", "value": SHORT}]
    }


@pytest.mark.parametrize("resumed", [{"attempts": 1}, {"sweep_count": 2}])
def test_resumed_write_back_reads_first_and_skips_a_put_already_applied(
    platform: WooCommercePlatform, mocked: responses.RequestsMock, rest_fixture: Rest,
    resumed: dict[str, int],
) -> None:  # fmt: skip
    # The recorded PUT answer is the product as it is once the write-back went through.
    put_answer = _recorded_body(rest_fixture("put_product.yaml"))
    mocked.get(ITEM, body=put_answer, content_type="application/json")
    platform.write_back(record(**resumed), SHORT)
    assert _methods(mocked) == ["GET"]


def test_resumed_write_back_puts_when_the_shop_lacks_the_value(
    platform: WooCommercePlatform, mocked: responses.RequestsMock, rest_fixture: Rest
) -> None:
    mocked._add_from_file(file_path=rest_fixture("get_product.yaml"))
    mocked._add_from_file(file_path=rest_fixture("put_product.yaml"))
    platform.write_back(record(attempts=3), SHORT)
    assert _methods(mocked) == ["GET", "PUT"]


def test_shop_errors_become_transient_or_permanent_platform_errors(
    platform: WooCommercePlatform, mocked: responses.RequestsMock
) -> None:
    mocked.put(ITEM, status=500, json={"code": "internal_server_error", "message": "fatal"})
    with pytest.raises(TransientPlatformError) as transient:
        platform.write_back(record(), SHORT)
    assert transient.value.code == "WOOCOMMERCE_SERVER_ERROR"

    mocked.put(ITEM, status=401, json={"code": "woocommerce_rest_cannot_edit", "message": "no"})
    with pytest.raises(PermanentPlatformError) as permanent:
        platform.write_back(record(), SHORT)
    assert permanent.value.code == "WOOCOMMERCE_AUTH_FAILED"
    assert "woocommerce_rest_cannot_edit" in permanent.value.message


def test_dropped_connection_is_transient(
    platform: WooCommercePlatform, mocked: responses.RequestsMock
) -> None:
    mocked.put(ITEM, body=requests.ConnectionError("connection reset by peer"))
    with pytest.raises(TransientPlatformError) as caught:
        platform.write_back(record(), SHORT)
    assert caught.value.code == "WOOCOMMERCE_UNREACHABLE"


def test_write_back_answer_without_the_value_is_permanent(
    platform: WooCommercePlatform, mocked: responses.RequestsMock, rest_fixture: Rest
) -> None:
    mocked.put(ITEM, body=_recorded_body(rest_fixture("get_product.yaml")),
               content_type="application/json")  # fmt: skip
    with pytest.raises(PermanentPlatformError) as caught:
        platform.write_back(record(), SHORT)
    assert caught.value.code == "WOOCOMMERCE_INVALID_RESPONSE"


@pytest.mark.parametrize(
    ("error", "kind", "code"),
    [
        (WooAuthError("x", status=403), PermanentPlatformError, "WOOCOMMERCE_AUTH_FAILED"),
        (WooNotFoundError("x", status=404), PermanentPlatformError, "WOOCOMMERCE_NOT_FOUND"),
        (WooRateLimitError("x", status=429, retry_after=7.0), TransientPlatformError,
         "WOOCOMMERCE_RATE_LIMITED"),
        (WooServerError("x", status=503), TransientPlatformError, "WOOCOMMERCE_SERVER_ERROR"),
        (WooClientError("x", status=400), PermanentPlatformError, "WOOCOMMERCE_REQUEST_REFUSED"),
        (WooInvalidResponseError("x", status=200), PermanentPlatformError,
         "WOOCOMMERCE_INVALID_RESPONSE"),
        (WooConnectionError("x"), TransientPlatformError, "WOOCOMMERCE_UNREACHABLE"),
        (WooConnectionError("x", is_transient=False), PermanentPlatformError,
         "WOOCOMMERCE_UNREACHABLE"),
    ],
)  # fmt: skip
def test_every_client_error_maps_to_a_code(
    error: WooCommerceError, kind: type[Exception], code: str
) -> None:
    mapped = platform_error(error)
    assert type(mapped) is kind and mapped.code == code
    assert mapped.retry_after == (7.0 if isinstance(error, WooRateLimitError) else None)


def test_non_numeric_product_id_fails_permanently(platform: WooCommercePlatform) -> None:
    with pytest.raises(PermanentPlatformError) as caught:
        platform.write_back(record(product_id="abc"), SHORT)
    assert caught.value.code == "WOOCOMMERCE_BAD_PRODUCT_ID"


def _recorded_body(path: str) -> str:
    import yaml

    with open(path) as file:
        return str(yaml.safe_load(file)["responses"][0]["response"]["body"])
