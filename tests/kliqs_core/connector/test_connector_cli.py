"""``kliqs connect status`` and ``kliqs connect retry``."""

from __future__ import annotations

import pytest
from typer.testing import CliRunner

from kliqs_core.connector import ProductInput, accept_webhook
from kliqs_core.connector.cli import connect_app
from kliqs_core.connector.inbox import find_product
from kliqs_core.connector.testing import TestRuntime
from kliqs_core.errors import InvalidUrlError, ShortlinkLimitReachedError

runner = CliRunner()


@pytest.fixture(autouse=True)
def _wide_terminal(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("COLUMNS", "200")


def store(product_id: str, title: str) -> int:
    accepted = accept_webhook(
        platform="fakeshop",
        shop="toko.test",
        delivery_id=product_id,
        topic="product.created",
        body=b"{}",
        product=ProductInput(product_id, title, f"https://toko.test/p/{product_id}"),
    )
    assert accepted.product_pk is not None
    return accepted.product_pk


def three_products(rt: TestRuntime) -> None:
    rt.client.errors += [
        InvalidUrlError(400, "INVALID_URL", "bad"),
        ShortlinkLimitReachedError(403, "SHORTLINK_LIMIT_REACHED", "full"),
    ]
    store("1", "Kopi Gayo")
    store("2", "Teh Tarik")
    store("3", "Gula Aren")
    rt.run_queued()


def test_status_shows_each_product_with_state_short_url_and_error(rt: TestRuntime) -> None:
    three_products(rt)

    result = runner.invoke(connect_app, ["status"])

    assert result.exit_code == 0, result.output
    lines = result.output.splitlines()
    assert any("Kopi Gayo" in line and "failed" in line and "INVALID_URL" in line for line in lines)
    assert any(
        "Teh Tarik" in line and "parked" in line and "SHORTLINK_LIMIT_REACHED" in line
        for line in lines
    )
    assert any(
        "Gula Aren" in line and "notified" in line and "https://kliqs.test/gula-aren" in line
        for line in lines
    )
    assert (
        "received: 0, shortened: 0, written_back: 0, notified: 1, parked: 1, failed: 1"
        in result.output
    )


def test_status_filters_by_state(rt: TestRuntime) -> None:
    three_products(rt)

    result = runner.invoke(connect_app, ["status", "--state", "failed"])

    assert (
        result.exit_code == 0 and "Kopi Gayo" in result.output and "Teh Tarik" not in result.output
    )
    assert runner.invoke(connect_app, ["status", "--state", "bogus"]).exit_code == 2


def test_retry_all_failed_queues_failed_and_parked_products(rt: TestRuntime) -> None:
    three_products(rt)

    result = runner.invoke(connect_app, ["retry", "--all-failed"])

    assert result.exit_code == 0, result.output
    assert "Queued 2 product(s)" in result.output and sorted(rt.enqueued) == [1, 2]
    rt.run_queued()
    assert {find_product("fakeshop", "toko.test", pid).state for pid in "123"} == {"notified"}  # type: ignore[union-attr]


def test_retry_one_product_by_reference(rt: TestRuntime) -> None:
    three_products(rt)

    result = runner.invoke(
        connect_app, ["retry", "--product", "fakeshop:toko.test:2", "--product", "fakeshop:3"]
    )

    assert result.exit_code == 0, result.output
    assert rt.enqueued == [2] and "Already done: 3" in result.output


def test_retry_needs_a_target_and_reports_unknown_products(rt: TestRuntime) -> None:
    assert runner.invoke(connect_app, ["retry"]).exit_code == 2
    unknown = runner.invoke(connect_app, ["retry", "--product", "99"])
    assert unknown.exit_code == 1 and "Not found: 99" in unknown.output
