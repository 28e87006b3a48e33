"""Mount the commands that live outside ``server`` (SDK, connector, integrations)."""

from __future__ import annotations

import typer


def mount(app: typer.Typer) -> None:
    """Add every sub-command group the installed packages provide."""
    del app  # filled as the SDK and the integrations land
