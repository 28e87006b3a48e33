"""Shared fixtures for the WooCommerce integration tests."""

from __future__ import annotations

import asyncio
import base64
import hashlib
import hmac
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import httpx
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


# --- the connector plug-in on the in-process runtime (fake Kliqs client, recorded shop) ---

SHOP_URL = "https://toko-contoh.example"
SHOP_ID = "toko-contoh.example"


@pytest.fixture
def woo_env(monkeypatch: pytest.MonkeyPatch, secret: str) -> dict[str, str]:
    """The four WOOCOMMERCE_* settings, pointing at the recorded shop."""
    values = {
        "WOOCOMMERCE_URL": SHOP_URL,
        "WOOCOMMERCE_CONSUMER_KEY": "ck_test_key",
        "WOOCOMMERCE_CONSUMER_SECRET": "cs_test_secret",
        "WOOCOMMERCE_WEBHOOK_SECRET": secret,
    }
    for name, value in values.items():
        monkeypatch.setenv(name, value)
    return values


@pytest.fixture
def woo_rt(tmp_path: Path, woo_env: dict[str, str]) -> Iterator[Any]:
    """The runtime on SQLite with the woocommerce plug-in loaded; queues into ``enqueued``.

    Its fake Kliqs client makes ``https://kliqs.me/<slug>`` links, as in the recorded PUT.
    """
    from kliqs_core.connector import runtime
    from kliqs_core.connector.platforms import unregister_platform
    from kliqs_core.connector.testing import connector_runtime
    from kliqs_core.connector.web import unregister_webhook_route

    with connector_runtime(tmp_path) as rt:
        rt.client.base_url = "https://kliqs.me"
        runtime.load_plugins(("woocommerce",))
        try:
            yield rt
        finally:
            unregister_platform("woocommerce")
            unregister_webhook_route("woocommerce")


class AppClient:
    """A synchronous client of an ASGI app, in process (httpx's ASGI transport).

    Each call runs the whole ASGI exchange, background tasks included, before returning.
    """

    def __init__(self, asgi_app: Any) -> None:
        self._app = asgi_app

    def post(self, path: str, **kwargs: Any) -> httpx.Response:
        return self.request("POST", path, **kwargs)

    def request(self, method: str, path: str, **kwargs: Any) -> httpx.Response:
        async def go() -> httpx.Response:
            transport = httpx.ASGITransport(app=self._app)
            async with httpx.AsyncClient(transport=transport, base_url="http://connector.test") as c:
                return await c.request(method, path, **kwargs)

        return asyncio.run(go())


@pytest.fixture(params=["event loop", "thread"])
def app(woo_rt: Any, request: pytest.FixtureRequest) -> AppClient:
    """A client of the connector web app (in process) with the plug-in's route: its async
    ``handle`` (what the plug-in registers), or the same handler called in a thread."""
    from kliqs_core.connector.web import _ROUTES, create_app, register_webhook_route

    if request.param == "thread":
        handler = _ROUTES["woocommerce"].handler.__self__  # type: ignore[attr-defined]
        register_webhook_route("woocommerce", handler)
    return AppClient(create_app())


# --- end to end: the real Kliqs server, the stand-in shop, connector and worker processes ---

E2E_BACKENDS = [
    "embedded",
    pytest.param("redis+postgres", marks=[pytest.mark.redis, pytest.mark.postgres]),
]


@pytest.fixture(scope="module", params=E2E_BACKENDS)
def e2e_backend(request: pytest.FixtureRequest) -> str:
    """``embedded`` (SQLite + SQLAlchemy broker) or ``redis+postgres``."""
    return str(request.param)


@pytest.fixture(scope="module")
def kliqs_server(tmp_path_factory: pytest.TempPathFactory, e2e_backend: str) -> Iterator[Any]:
    """``kliqs serve`` shared by a module's tests of one backend (each test has its own account).

    On SQLite for the embedded runs, on PostgreSQL for the Redis + PostgreSQL ones. Short-link
    slugs are global, so each backend gets its own server and tests reuse product names.
    """
    from kliqs_testing.databases import make_database
    from kliqs_testing.servers import ProcessServer

    folder = tmp_path_factory.mktemp("kliqs-server")
    database = make_database("sqlite" if e2e_backend == "embedded" else "postgres", folder)
    server = ProcessServer(database, folder).start()
    yield server
    server.stop()
    database.drop()


@pytest.fixture
def e2e(tmp_path: Path, kliqs_server: Any, e2e_backend: str) -> Iterator[Any]:
    """One end-to-end set-up on the module's Kliqs server and backend."""
    from tests.integrations.woocommerce.woo_e2e import e2e_setup

    with e2e_setup(tmp_path, kliqs_server, e2e_backend) as setup:
        yield setup
