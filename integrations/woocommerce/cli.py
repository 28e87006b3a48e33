"""``kliqs woocommerce ...``: the WooCommerce commands, mounted by ``server/cli/plugins.py``.

``kliqs woocommerce sync [--since DATE]`` is the reconciliation poll: WooCommerce never
retries a lost webhook, so this queues every published product still lacking its short URL.
"""

from __future__ import annotations

from datetime import UTC, datetime
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

from integrations.woocommerce.api import WooCommerceClient
from integrations.woocommerce.errors import WooCommerceError
from integrations.woocommerce.sync import SyncReport, sync_products
from kliqs_core.connector import ConnectorConfigError, runtime

__all__ = ["parse_since", "register", "sync", "woocommerce_app"]

woocommerce_app = typer.Typer(help="WooCommerce shop connector.", no_args_is_help=True)
console = Console()


def parse_since(value: str) -> datetime:
    """``2026-05-01`` or an ISO 8601 date-time; without an offset it is UTC."""
    moment = datetime.fromisoformat(value.strip())
    return moment.replace(tzinfo=UTC) if moment.tzinfo is None else moment


@woocommerce_app.command()
def sync(
    since: Annotated[
        str | None,
        typer.Option(
            help="Only products modified after this date or date-time (ISO 8601; UTC "
            "without an offset), e.g. 2026-05-01 or 2026-05-01T08:00:00+07:00."
        ),
    ] = None,
) -> None:
    """Queue every published product that has no kliqs_short_url yet (lost webhooks)."""
    try:
        since_at = parse_since(since) if since else None
    except ValueError:
        raise typer.BadParameter(f"not an ISO 8601 date: {since!r}", param_hint="--since") from None
    from integrations.woocommerce.plugin import connector_settings

    try:
        settings = connector_settings()
        runtime.start_up()  # connector settings, plug-ins, database migrations
    except ConnectorConfigError as exc:
        console.print(f"[red]{exc}[/red]")
        raise typer.Exit(2) from None
    client = WooCommerceClient.from_settings(settings)
    try:
        report = _run_with_progress(client, shop=settings.shop_id, since=since_at)
    except WooCommerceError as exc:
        console.print(f"[red]WooCommerce answered: {exc}[/red]")
        raise typer.Exit(1) from None
    _print_report(report)


def _run_with_progress(
    client: WooCommerceClient, *, shop: str, since: datetime | None
) -> SyncReport:
    columns = (
        SpinnerColumn(),
        TextColumn("[progress.description]{task.description}"),
        BarColumn(),
        MofNCompleteColumn(),
        TimeElapsedColumn(),
    )
    with Progress(*columns, console=console, transient=False) as progress:
        task = progress.add_task("Checking published products", total=None)
        return sync_products(
            client,
            shop=shop,
            since=since,
            on_total=lambda total: progress.update(task, total=total),
            on_product=lambda _product: progress.advance(task),
        )


def _print_report(report: SyncReport) -> None:
    known = ", ".join(f"{reason}: {count}" for reason, count in sorted(report.known.items()))
    console.print(
        f"Checked {report.checked} published product(s): [bold]{len(report.queued)} queued[/bold], "
        f"{report.has_short_url} already shortened in the shop, "
        f"{sum(report.known.values())} already known to the connector"
        + (f" ({known})" if known else "")
        + (f", {report.skipped} skipped" if report.skipped else "")
        + "."
    )
    if report.queued:
        console.print(f"Queued product ids: {', '.join(report.queued)}")


def register(app: typer.Typer) -> None:
    """Mount ``kliqs woocommerce ...`` on the root ``kliqs`` command."""
    app.add_typer(woocommerce_app, name="woocommerce")
