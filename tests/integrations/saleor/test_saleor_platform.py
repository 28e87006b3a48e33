"""The worker's Saleor steps over real HTTP to the stand-in: storefront URL, updateMetadata."""

from __future__ import annotations

import socket

import pytest
from typer.testing import CliRunner

from kliqs_core.connector import ProductRecord, get_platform, runtime
from kliqs_core.connector.cli import connect_app
from kliqs_core.connector.pipeline import PipelineConfig, run_product
from kliqs_core.connector.testing import TestRuntime
from tests.integrations.saleor.saleor_testing import Deliver, event, stored
from tests.standins.saleor_standin import SaleorStandin, relay_id


def test_short_url_of_the_storefront_url_goes_into_product_metadata(
    rt: TestRuntime, deliver: Deliver, standin: SaleorStandin, shop: str
) -> None:
    standin.add_product(1, "VPS Murah", slug="vps-murah")
    deliver(event(1, "VPS Murah", slug="vps-murah"))

    rt.run_queued()

    assert rt.client.calls[0]["url"] == "https://toko-saleor.example/products/vps-murah"
    assert stored(shop, 1).state == "notified"
    assert standin.mutations == [{"updateMetadata": {
        "id": relay_id("Product", 1),
        "input": [{"key": "kliqs_short_url", "value": "https://kliqs.test/vps-murah"}]}}]
    assert standin.products[relay_id("Product", 1)]["metadata"] == {
        "kliqs_short_url": "https://kliqs.test/vps-murah"}
    # The write-back carries the app token; no call needed a key from the webhook.
    graphql = [r for r in standin.requests if r.path == "/graphql/"]
    assert [r.headers["authorization"] for r in graphql] == [f"Bearer {standin.app_token}"]


def test_slug_is_escaped_into_the_template(
    rt: TestRuntime, deliver: Deliver, standin: SaleorStandin
) -> None:
    standin.add_product(2, "Kopi", slug="kopi aceh/gayo")
    deliver(event(2, "Kopi", slug="kopi aceh/gayo"))

    rt.run_queued()

    assert rt.client.calls[0]["url"] == "https://toko-saleor.example/products/kopi%20aceh%2Fgayo"


def test_metadata_errors_fail_the_product_with_their_message_in_status(
    rt: TestRuntime, deliver: Deliver, shop: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    deliver(event(3, "Sepatu Lari"))  # the shop no longer has it when the worker writes back

    outcomes = rt.run_queued()

    assert [(o.kind, o.code) for o in outcomes] == [("failed", "SALEOR_USER_ERROR")]
    message = stored(shop, 3).last_error_message or ""
    assert "Couldn't resolve to a node" in message and "(NOT_FOUND)" in message
    monkeypatch.setenv("COLUMNS", "250")
    status = CliRunner().invoke(connect_app, ["status", "--platform", "saleor"])
    assert "SALEOR_USER_ERROR" in status.output and "Couldn't resolve to a node" in status.output


def test_refused_app_token_fails_at_once(
    rt: TestRuntime, deliver: Deliver, standin: SaleorStandin
) -> None:
    standin.add_product(4, "Kaos")
    deliver(event(4, "Kaos"))
    standin.app_token = "rotated"

    outcomes = rt.run_queued()

    assert [(o.kind, o.code) for o in outcomes] == [("failed", "SALEOR_UNAUTHORIZED")]


def test_unreachable_api_is_retried_later(
    rt: TestRuntime, deliver: Deliver, monkeypatch: pytest.MonkeyPatch
) -> None:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        dead = f"http://127.0.0.1:{sock.getsockname()[1]}/graphql/"
    monkeypatch.setenv("SALEOR_API_URL", dead)
    runtime.load_plugins(("integrations.saleor",))  # setup again (JWKS URL is still set)
    deliver(event(5, "Teh"))
    shop = dead.removeprefix("http://").removesuffix("/graphql/")

    outcome = run_product(stored(shop, 5).id, database=rt.database, client=lambda: rt.client,
                          config=PipelineConfig.from_settings(rt.settings))

    assert (outcome.kind, outcome.code) == ("retry", "SALEOR_UNREACHABLE")
    assert stored(shop, 5).short_url == "https://kliqs.test/teh"  # the link is kept


@pytest.mark.parametrize(("repeat", "already", "writes"), [
    ({}, True, 1),
    ({"sweep_count": 1}, True, 0),
    ({"attempts": 1}, False, 1),
])
def test_a_run_that_may_repeat_reads_the_metadata_before_writing(
    rt: TestRuntime, standin: SaleorStandin, shop: str, repeat: dict[str, int], already: bool,
    writes: int,
) -> None:
    url = "https://kliqs.test/bakso"
    product_id = standin.add_product(6, "Bakso",
                                     metadata={"kliqs_short_url": url} if already else None)
    product = ProductRecord(id=1, platform="saleor", shop=shop, product_id=product_id,
                            title="Bakso", product_url=None, state="shortened",
                            data={"slug": "bakso"}, **repeat)

    get_platform("saleor").write_back(product, url)

    assert len(standin.mutations) == writes
    assert standin.products[product_id]["metadata"] == {"kliqs_short_url": url}
