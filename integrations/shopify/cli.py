"""``kliqs shopify sync``: catch up active products without a short URL, with a progress bar.

``server/cli/plugins.py`` imports this module and calls :func:`register` on the root app.
"""

from __future__ import annotations

from typing import Annotated

import typer
from rich.console import Console
from rich.progress import (
    BarColumn,
    MofNCompleteColumn,
    Progress,
    SpinnerColumn,
    TextColumn,
    TimeElapsedColumn,
)
from rich.table import Table

from kliqs_core.connector import ConnectorConfigError, runtime

from .api import SYNC_PAGE_SIZE, ShopifyAdmin
from .graphql import GraphQLClientError
from .platform import PLATFORM
from .plugin import load_settings
from .sync import OUTCOMES, SyncItem, SyncReport, sync_products

__all__ = ["register", "shopify_app", "sync"]

shopify_app = typer.Typer(help="Shopify: catch up products the connector missed.",
                          no_args_is_help=True)
console = Console()


@shopify_app.command()
def sync(
    dry_run: Annotated[
        bool, typer.Option("--dry-run", help="Only list what is missing; store nothing.")
    ] = False,
    page_size: Annotated[
        int, typer.Option(min=1, max=250, help="Products per Admin API page.")
    ] = SYNC_PAGE_SIZE,
) -> None:
    """Queue every active product that has no kliqs.short_url metafield yet."""
    try:
        settings = load_settings()
        connector = runtime.start_up()
    except ConnectorConfigError as exc:
        console.print(f"[red]{exc}[/red]")
        raise typer.Exit(2) from exc
    if not dry_run and not {PLATFORM, f"integrations.{PLATFORM}"} & set(connector.plugin_modules):
        console.print("[yellow]KLIQS_CONNECTOR_PLUGINS does not list shopify: no worker will "
                      "process what this stores until it does.[/yellow]")
    assert settings.shop is not None
    admin = ShopifyAdmin.from_settings(settings)
    try:
        report = _run(admin, settings.shop, dry_run=dry_run, page_size=page_size)
    except GraphQLClientError as exc:
        console.print(f"[red]Shopify: {exc.message}[/red]")
        raise typer.Exit(1) from exc
    finally:
        admin.close()
    console.print(_summary(report, dry_run=dry_run))


def _run(admin: ShopifyAdmin, shop: str, *, dry_run: bool, page_size: int) -> SyncReport:
    total = admin.count_active_products()
    with Progress(
        SpinnerColumn(),
        TextColumn("[bold]{task.description}"),
        BarColumn(),
        MofNCompleteColumn(),
        TextColumn("[green]{task.fields[todo]} {task.fields[verb]}[/green]"),
        TimeElapsedColumn(),
        console=console,
    ) as progress:
        verb = "missing" if dry_run else "queued"
        task = progress.add_task(f"Scanning {shop}", total=total, todo=0, verb=verb)
        todo = 0

        def advance(item: SyncItem) -> None:
            nonlocal todo
            todo += item.outcome in ("missing", "queued", "stored")
            progress.update(task, advance=1, todo=todo,
                            description=f"{item.target.title[:40] or item.target.gid}")

        report = sync_products(admin, shop=shop, dry_run=dry_run, page_size=page_size,
                               on_item=advance)
        progress.update(task, total=report.scanned, description=f"Scanned {shop}")
    return report


def _summary(report: SyncReport, *, dry_run: bool) -> Table:
    title = f"Active products: {report.scanned}" + (" (dry run)" if dry_run else "")
    table = Table("outcome", "products", title=title)
    for outcome, meaning in OUTCOMES.items():
        if report.counts[outcome]:
            table.add_row(meaning, str(report.counts[outcome]))
    return table


def register(app: typer.Typer) -> None:
    """Mount ``kliqs shopify ...`` on the root ``kliqs`` command."""
    app.add_typer(shopify_app, name="shopify")
