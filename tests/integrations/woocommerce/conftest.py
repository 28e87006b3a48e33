"""Shared fixtures for the WooCommerce integration tests."""

from __future__ import annotations

import base64
import hashlib
import hmac
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

from tests.standins.woocommerce_standin import WooStandin

FIXTURES = Path(__file__).parent / "fixtures"
# A secret shaped like the ones WooCommerce generates; never a real shop's.
TEST_SECRET = "kl1qs-t3st-s3cret_(not-a-real-shop)"


@pytest.fixture
def fixture_bytes() -> Callable[[str], bytes]:
    """Read a fixture file's exact bytes."""
    return lambda name: (FIXTURES / name).read_bytes()


@pytest.fixture
def rest_fixture() -> Callable[[str], str]:
    """Path of a `responses` YAML file under fixtures/rest."""
    return lambda name: str(FIXTURES / "rest" / name)


@pytest.fixture
def secret() -> str:
    """The webhook secret the tests sign with."""
    return TEST_SECRET


@pytest.fixture
def sign() -> Callable[[bytes, str], str]:
    """WooCommerce's signature, computed here independently of the code under test."""

    def _sign(body: bytes, key: str) -> str:
        return base64.b64encode(hmac.new(key.encode(), body, hashlib.sha256).digest()).decode()

    return _sign


@pytest.fixture
def standin() -> Iterator[WooStandin]:
    """A running WooCommerce stand-in on a free loopback port."""
    shop = WooStandin().start()
    try:
        yield shop
    finally:
        shop.stop()
