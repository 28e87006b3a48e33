"""``python -m kliqs_core.connector connect|worker``: the connector commands without ``kliqs``."""

from __future__ import annotations

import typer

from kliqs_core.connector.cli import connect_app, worker

app = typer.Typer(help="Kliqs shop connector.", no_args_is_help=True)
app.add_typer(connect_app, name="connect")
app.command("worker")(worker)

if __name__ == "__main__":
    app()
