"""The root of the ``kliqs`` command and the server's own commands."""

from __future__ import annotations

import sys

import typer

from server.cli import accounts, serve, up

app = typer.Typer(
    name="kliqs",
    help="Kliqs: shortlink server, API SDK and shop connectors.",
    no_args_is_help=True,
    add_completion=False,
)
app.command("up")(up.up)
app.command("serve")(serve.serve)
app.add_typer(serve.db_app, name="db")
app.add_typer(accounts.accounts_app, name="accounts")
app.add_typer(accounts.keys_app, name="keys")


def _mount_optional() -> None:
    """Commands of the SDK and the integrations, mounted when their packages import."""
    from server.cli import plugins

    plugins.mount(app)


def main() -> None:
    """Entry point of the ``kliqs`` console script."""
    _mount_optional()
    app(prog_name="kliqs")


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
