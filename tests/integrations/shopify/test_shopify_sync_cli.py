"""``kliqs shopify sync``: active products without ``kliqs.short_url`` are caught up, once."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest
import typer
from typer.testing import CliRunner

from integrations.shopify.cli import register
from kliqs_core.connector.testing import TestRuntime
from tests.integrations.shopify.shopify_testing import PRIMARY_DOMAIN, TimedStandin, inbox, stored
from tests.standins import shopify_standin

runner = CliRunner()


@pytest.fixture
def kliqs() -> typer.Typer:
    """A root app with the Shopify commands mounted, as ``server/cli/plugins.py`` does."""
    app = typer.Typer()

    @app.callback()
    def root() -> None:
        """kliqs"""

    register(app)
    return app


@pytest.fixture
def catalogue(standin: TimedStandin, monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    """Three active products (one shortened already) and a draft; ``productsCount`` answers."""
    standin.add_product(3001, "VPS Murah", handle="vps-murah")
    standin.add_product(3002, "Kaos Polos", online_store_url="https://shop.example/p/kaos")
    standin.add_product(3003, "Sepatu Lari", short_url="https://kliqs.test/sepatu-lari")
    standin.add_product(3004, "Keripik", status="DRAFT")

    def products_count(_root: Any, info: Any, query: str | None = None,
                       **_: Any) -> dict[str, Any]:
        active = [p for p in standin.products.values() if p["status"] == "ACTIVE"]
        assert query == "status:active"
        return {"count": len(active), "precision": "EXACT"}

    # The stand-in's root has no productsCount resolver; the schema has the field.
    monkeypatch.setattr(shopify_standin._Root, "productsCount", products_count, raising=False)
    monkeypatch.setenv("COLUMNS", "160")
    yield


def test_sync_queues_active_products_without_short_url_with_a_progress_bar(
    rt: TestRuntime, catalogue: None, kliqs: typer.Typer, standin: TimedStandin
) -> None:
    result = runner.invoke(kliqs, ["shopify", "sync"])

    assert result.exit_code == 0, result.output
    assert "3/3" in result.output and "2 queued" in result.output
    assert "queued for shortening" in result.output and "already carries" in result.output
    assert sorted(rt.enqueued) == sorted([stored(3001).id, stored(3002).id])
    assert stored(3002).product_url == "https://shop.example/p/kaos"
    assert stored(3001).product_url == f"{PRIMARY_DOMAIN}/products/vps-murah"
    assert [row[1:3] for row in inbox(rt.database)] == [("sync", "accepted")] * 2

    rt.run_queued()
    assert standin.short_url_of("gid://shopify/Product/3001") == "https://kliqs.test/vps-murah"
    assert standin.short_url_of("gid://shopify/Product/3002") == "https://kliqs.test/kaos-polos"


def test_second_sync_finds_nothing_to_do(
    rt: TestRuntime, catalogue: None, kliqs: typer.Typer
) -> None:
    runner.invoke(kliqs, ["shopify", "sync"])
    again = runner.invoke(kliqs, ["shopify", "sync"])  # before the worker ran

    assert again.exit_code == 0, again.output
    assert "already waiting in the connector" in again.output
    assert len(rt.enqueued) == 2


def test_sync_after_the_worker_ran_leaves_shortened_products_alone(
    rt: TestRuntime, catalogue: None, kliqs: typer.Typer, standin: TimedStandin
) -> None:
    runner.invoke(kliqs, ["shopify", "sync"])
    rt.run_queued()
    # Someone deleted one metafield in the Shopify admin: the connector still knows it.
    del standin.products["gid://shopify/Product/3001"]["metafields"][("kliqs", "short_url")]

    result = runner.invoke(kliqs, ["shopify", "sync"])

    assert result.exit_code == 0, result.output
    assert "already carries kliqs.short_url" in result.output
    assert "already shortened by the connector" in result.output
    assert rt.enqueued == []


def test_dry_run_lists_what_is_missing_and_stores_nothing(
    rt: TestRuntime, catalogue: None, kliqs: typer.Typer
) -> None:
    result = runner.invoke(kliqs, ["shopify", "sync", "--dry-run"])

    assert result.exit_code == 0, result.output
    assert "2 missing" in result.output and "(dry run)" in result.output
    assert inbox(rt.database) == [] and rt.enqueued == []


def test_missing_settings_stop_the_sync_naming_them(
    rt: TestRuntime, kliqs: typer.Typer, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv("SHOPIFY_ACCESS_TOKEN")

    result = runner.invoke(kliqs, ["shopify", "sync"])

    assert result.exit_code == 2
    assert "missing setting(s): SHOPIFY_ACCESS_TOKEN" in result.output


def test_shopify_refusing_the_token_ends_with_its_message(
    rt: TestRuntime, catalogue: None, kliqs: typer.Typer, standin: TimedStandin
) -> None:
    standin.access_token = "shpat_revoked"

    result = runner.invoke(kliqs, ["shopify", "sync"])

    assert result.exit_code == 1
    assert "HTTP 401" in result.output and inbox(rt.database) == []
