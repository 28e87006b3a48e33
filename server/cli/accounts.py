"""``kliqs accounts ...`` and ``kliqs keys ...`` (operator commands)."""

from __future__ import annotations

import typer
from rich.console import Console
from rich.table import Table

from server.cli._common import transaction
from server.clock import iso
from server.services import accounts

accounts_app = typer.Typer(help="Create accounts and set their plans.", no_args_is_help=True)
keys_app = typer.Typer(help="Create, list and revoke API keys.", no_args_is_help=True)


@accounts_app.command("create")
def create(
    email: str,
    plan: str = typer.Option("free", help="free, starter, pro or business"),
    password: str | None = typer.Option(None, help="dashboard password (at least 8 characters)"),
) -> None:
    """Create an account."""
    with transaction() as conn:
        account_id = accounts.create_account(conn, email, plan=plan, password=password)
    typer.echo(f"created account {account_id} ({accounts.normalise_email(email)}, plan {plan})")


@accounts_app.command("set-plan")
def set_plan(email: str, plan: str) -> None:
    """Move an account to another plan."""
    with transaction() as conn:
        accounts.set_plan(conn, email, plan)
    typer.echo(f"{accounts.normalise_email(email)} is now on plan {plan}")


@keys_app.command("create")
def create_key(email: str, name: str = typer.Option(..., help="what the key is for")) -> None:
    """Create a key and print it, alone, on stdout. It is shown this once only."""
    with transaction() as conn:
        _key_id, key = accounts.create_key(conn, accounts.account_id_for(conn, email), name)
    typer.echo(key)


@keys_app.command("list")
def list_keys(email: str) -> None:
    """List an account's keys (name, last 4 characters, dates, status)."""
    with transaction() as conn:
        keys = accounts.list_keys(conn, accounts.account_id_for(conn, email))
    table = Table("id", "name", "last 4", "created", "last used", "status")
    for key in keys:
        table.add_row(
            key.id, key.name, key.last4, iso(key.created_at), iso(key.last_used_at) or "-",
            key.status,
        )
    Console().print(table)


@keys_app.command("revoke")
def revoke(key_id: str) -> None:
    """Revoke a key at once; requests with it answer REVOKED_API_KEY."""
    with transaction() as conn:
        revoked = accounts.revoke_key(conn, key_id)
    if not revoked:
        typer.echo(f"no active key with id {key_id}", err=True)
        raise typer.Exit(1)
    typer.echo(f"revoked {key_id}")
