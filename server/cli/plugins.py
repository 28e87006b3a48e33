"""Mount the commands that live outside ``server`` (SDK, connector, integrations).

Each provider module defines ``register(app: typer.Typer) -> None``. A provider whose module
does not exist is skipped, so a package can land its commands without touching this file
again beyond its one line here.
"""

from __future__ import annotations

import importlib

import typer

PROVIDERS = (
    "kliqs_core.cli",
    "kliqs_core.connector.cli",
    "integrations.woocommerce.cli",
    "integrations.shopify.cli",
    "integrations.saleor.cli",
    "integrations.whatsapp_bot.cli",
)


def mount(app: typer.Typer) -> None:
    """Add every sub-command the installed providers register."""
    for name in PROVIDERS:
        try:
            module = importlib.import_module(name)
        except ModuleNotFoundError as exc:
            if exc.name != name:
                raise  # a provider that exists but fails to import is a bug: say so
            continue
        module.register(app)
