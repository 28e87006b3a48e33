"""Reconciliation (`kliqs woocommerce sync`): lost webhooks caught up through the same pipeline."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from datetime import UTC, datetime
from typing import Any

import pytest
import responses
import typer
from sqlalchemy import select
from typer.testing import CliRunner

from integrations.woocommerce.api import WooCommerceClient
from integrations.woocommerce.cli import parse_since, register
from integrations.woocommerce.sync import SYNC_TOPIC, sync_products
from kliqs_core.connector.models import Product, WebhookDelivery
from tests.integrations.woocommerce.conftest import SHOP_ID, SHOP_URL
from tests.standins.woocommerce_standin import WooStandin, wp_json_encode

Rest = Callable[[str], str]
ECHO_META = [{"key": "kliqs_short_url", "value": "https://kliqs.me/sudah"}]


@pytest.fixture
def mocked() -> Iterator[responses.RequestsMock]:
    with responses.RequestsMock(assert_all_requests_are_fired=True) as mock:
        yield mock


def _stored(rt: Any) -> tuple[list[str], list[tuple[str | None, str, str]]]:
    with rt.database.transaction() as session:
        products = [p.product_id for p in session.scalars(select(Product).order_by(Product.id))]
        deliveries = [(d.delivery_id, d.topic, d.status)
                      for d in session.scalars(select(WebhookDelivery).order_by(WebhookDelivery.id))]  # fmt: skip
    return products, deliveries


def test_sync_queues_recorded_products_and_a_rerun_queues_nothing(
    woo_rt: Any, mocked: responses.RequestsMock, rest_fixture: Rest
) -> None:
    mocked._add_from_file(file_path=rest_fixture("get_products_2_pages.yaml"))
    client = WooCommerceClient(SHOP_URL, "ck_test_key", "cs_test_secret")
    totals: list[int] = []
    report = sync_products(client, shop=SHOP_ID, on_total=totals.append)
    assert (report.checked, report.queued, totals) == (3, ("101", "103", "105"), [3])
    products, deliveries = _stored(woo_rt)
    assert products == ["101", "103", "105"] and len(woo_rt.enqueued) == 3
    assert {(topic, status) for _, topic, status in deliveries} == {(SYNC_TOPIC, "accepted")}

    mocked._add_from_file(file_path=rest_fixture("get_products_2_pages.yaml"))
    again = sync_products(client, shop=SHOP_ID)
    assert again.queued == () and again.known == {"duplicate_delivery": 3}
    assert len(woo_rt.enqueued) == 3


def test_sync_skips_shortened_products_and_leaves_known_ones_alone(
    woo_rt: Any, standin: WooStandin, app: Any, sign: Callable[[bytes, str], str], secret: str
) -> None:
    lost = standin.add_product(name="Sambal Roa")
    standin.add_product(name="Kopi Gayo", meta_data=ECHO_META)
    standin.add_product(name="Draf Baru", status="draft")
    received = standin.add_product(name="Keripik Tempe")
    body = wp_json_encode(received)  # its webhook did arrive
    headers = {"X-WC-Webhook-Source": "x", "X-WC-Webhook-Topic": "product.created",
               "X-WC-Webhook-ID": "1", "X-WC-Webhook-Delivery-ID": "d-1",
               "X-WC-Webhook-Signature": sign(body, secret)}  # fmt: skip
    assert app.post("/webhooks/woocommerce", content=body, headers=headers).status_code == 200

    client = WooCommerceClient(standin.url, "ck_test_key", "cs_test_secret")
    report = sync_products(client, shop=SHOP_ID)

    assert report.checked == 3  # the draft is not listed: status=publish
    assert report.queued == (str(lost["id"]),)
    assert (report.has_short_url, report.known) == (1, {"pending": 1})
    products, _ = _stored(woo_rt)
    assert sorted(products) == sorted([str(received["id"]), str(lost["id"])])
    assert len(woo_rt.enqueued) == 2


def test_sync_since_asks_the_shop_for_products_modified_after(
    woo_rt: Any, standin: WooStandin
) -> None:
    client = WooCommerceClient(standin.url, "ck_test_key", "cs_test_secret")
    sync_products(client, shop=SHOP_ID, since=datetime(2026, 5, 1, 1, 0, tzinfo=UTC))
    [request] = standin.requests
    assert request["query"]["modified_after"] == "2026-05-01T01:00:00"
    assert request["query"]["dates_are_gmt"] == "true"
    assert request["query"]["status"] == "publish"


@pytest.mark.parametrize(
    ("text", "expected"),
    [("2026-05-01", datetime(2026, 5, 1, tzinfo=UTC)),
     ("2026-05-01T08:00:00+07:00", datetime(2026, 5, 1, 1, 0, tzinfo=UTC))],
)  # fmt: skip
def test_since_dates_without_offset_are_utc(text: str, expected: datetime) -> None:
    assert parse_since(text) == expected


def test_cli_sync_reports_what_it_queued(
    woo_rt: Any, standin: WooStandin, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("WOOCOMMERCE_URL", standin.url)
    first = standin.add_product(name="Sambal Roa")
    standin.add_product(name="Kopi Gayo", meta_data=ECHO_META)
    root = typer.Typer()
    root.command("noop")(lambda: None)  # a second command keeps `woocommerce` a sub-group
    register(root)

    result = CliRunner().invoke(root, ["woocommerce", "sync", "--since", "2020-01-01"])

    assert result.exit_code == 0, result.output
    assert "Checked 2 published product(s): 1 queued" in result.output
    assert f"Queued product ids: {first['id']}" in result.output
    assert len(woo_rt.enqueued) == 1


def test_cli_sync_rejects_a_bad_date(woo_rt: Any) -> None:
    root = typer.Typer()
    root.command("noop")(lambda: None)
    register(root)
    result = CliRunner().invoke(root, ["woocommerce", "sync", "--since", "last tuesday"])
    assert result.exit_code == 2 and woo_rt.enqueued == []
