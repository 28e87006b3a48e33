"""``kliqs saleor subscription`` prints the validated subscription the handler can read."""

from __future__ import annotations

import json
from pathlib import Path

import typer
from graphql import parse
from typer.testing import CliRunner

from integrations.saleor.cli import register
from integrations.saleor.graphql import SALEOR_DOCUMENTS


def test_subscription_prints_the_document_the_connector_reads() -> None:
    app = typer.Typer()

    @app.callback()
    def root() -> None:
        """kliqs"""

    register(app)

    result = CliRunner().invoke(app, ["saleor", "subscription"])

    assert result.exit_code == 0, result.output
    printed = result.stdout
    SALEOR_DOCUMENTS.check(printed, name="ProductEvents")  # valid against the schema
    assert parse(printed).definitions  # and a whole document, ready to paste
    fixture = json.loads((Path(__file__).parent / "fixtures" / "product_created.json").read_text())
    for field in fixture["product"]:
        assert field in printed
