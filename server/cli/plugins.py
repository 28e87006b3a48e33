"""Mount the commands that live outside ``server`` (SDK, connector, integrations)."""

from __future__ import annotations

import typer


def mount(app: typer.Typer) -> None:
    """Add every sub-command group the SDK and the integrations provide."""
    from kliqs_core import cli as sdk_cli

    app.command("shorten")(sdk_cli.shorten)
