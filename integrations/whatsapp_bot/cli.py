"""``kliqs whatsapp ...``: subscribers and broadcasts, for operators.

    kliqs whatsapp subscribers [--status active]       # list
    kliqs whatsapp subscribers add 6281234567890 --source paper
    kliqs whatsapp subscribers remove 6281234567890
    kliqs whatsapp broadcast 12                       # or woocommerce:123, woocommerce:shop:123

They work on the connector's database (``KLIQS_CONNECTOR_DATABASE_URL`` or the data directory)
and queue on its broker; no WhatsApp credentials are needed here.
"""

from __future__ import annotations

from typing import Annotated

import typer
from rich.console import Console
from rich.progress import Progress
from rich.table import Table

from integrations.whatsapp_bot import context
from integrations.whatsapp_bot.broadcast import find_product_pk, queue_sends, rebroadcast
from integrations.whatsapp_bot.models import SubscriberStatus
from integrations.whatsapp_bot.subscribers import (
    InvalidPhone,
    SubscriberRecord,
    list_subscribers,
    normalize_phone,
    subscribe,
    unsubscribe,
)
from kliqs_core.connector import runtime
from kliqs_core.connector.db import Database, upgrade
from kliqs_core.connector.models import utcnow

__all__ = ["register", "whatsapp_app"]

whatsapp_app = typer.Typer(help="The WhatsApp bot: subscribers and product broadcasts.")
subscribers_app = typer.Typer(help="List, add and remove subscribers.")
whatsapp_app.add_typer(subscribers_app, name="subscribers")
console = Console()


def _database() -> Database:
    database = runtime.get_database()
    upgrade(database)
    return database


def _phone(raw: str) -> str:
    try:
        return normalize_phone(raw)
    except InvalidPhone as exc:
        raise typer.BadParameter(str(exc), param_hint="PHONE") from None


@subscribers_app.callback(invoke_without_command=True)
def subscribers(
    ctx: typer.Context,
    status: Annotated[str | None, typer.Option(help="Only this status.")] = None,
) -> None:
    """List subscribers (without a sub-command)."""
    if ctx.invoked_subcommand is None:
        list_command(status)


@subscribers_app.command("list")
def list_command(
    status: Annotated[str | None, typer.Option(help="Only this status.")] = None,
) -> None:
    """List subscribers with their consent and opt-out."""
    if status is not None and status not in {s.value for s in SubscriberStatus}:
        raise typer.BadParameter(f"unknown status {status!r}", param_hint="--status")
    rows = list_subscribers(_database(), status=status)
    console.print(_table(rows))
    active = sum(1 for row in rows if row.status == SubscriberStatus.ACTIVE)
    console.print(f"{len(rows)} number(s), {active} active")


def _table(rows: list[SubscriberRecord]) -> Table:
    table = Table()
    table.add_column("phone", no_wrap=True, min_width=15)  # the one column never cut
    for header in ("name", "status", "consent", "source", "opted out", "last message"):
        table.add_column(header)
    for row in rows:
        table.add_row(
            row.phone,
            row.name or "",
            row.status,
            f"{row.consent_at:%Y-%m-%d %H:%M}" if row.consent_at else "",
            row.consent_source or "",
            f"{row.opted_out_at:%Y-%m-%d %H:%M} ({row.opt_out_source})" if row.opted_out_at else "",
            f"{row.last_inbound_at:%Y-%m-%d %H:%M}" if row.last_inbound_at else "",
        )
    return table


@subscribers_app.command("add")
def add(
    phone: Annotated[str, typer.Argument(help="International format, e.g. 6281234567890.")],
    source: Annotated[
        str, typer.Option(help="Where the consent was given: web, paper, sms, ivr...")
    ],
    name: Annotated[str | None, typer.Option(help="The person's name.")] = None,
) -> None:
    """Subscribe a number whose consent was given elsewhere (stored with time and source)."""
    number = _phone(phone)
    with _database().transaction() as session:
        subscribe(session, number, source=source, now=utcnow(), name=name)
    console.print(f"{number} subscribed (source: {source})")


@subscribers_app.command("remove")
def remove(phone: Annotated[str, typer.Argument(help="The subscriber's number.")]) -> None:
    """Unsubscribe a number (recorded as an opt-out by the operator)."""
    number = _phone(phone)
    with _database().transaction() as session:
        unsubscribe(session, number, source="operator", now=utcnow())
    console.print(f"{number} unsubscribed")


@whatsapp_app.command("broadcast")
def broadcast(
    product: Annotated[
        str, typer.Argument(help="Row id, platform:product_id or platform:shop:product_id.")
    ],
) -> None:
    """Send a product again to active subscribers who did not get it."""
    database = _database()
    pk = find_product_pk(database, product)
    if pk is None:
        console.print(f"[red]No single product matches {product!r}.[/red]")
        raise typer.Exit(1)
    grace = runtime.get_settings().connector_sweep_grace
    try:
        result = rebroadcast(database, pk, grace_seconds=grace)
    except LookupError as exc:
        console.print(f"[red]{exc}[/red]")
        raise typer.Exit(1) from None
    with Progress(console=console, transient=True) as progress:
        bar = progress.add_task("Queueing", total=len(result.queued))
        queued = queue_sends(
            list(result.queued), context.enqueue, lambda n: progress.advance(bar, n)
        )
    console.print(
        f"Product {pk}: queued {queued} message(s); {result.delivered} already sent earlier"
    )
    if queued < len(result.queued):
        console.print("[yellow]Some could not be queued now; the worker's sweeper will.[/yellow]")


def register(app: typer.Typer) -> None:
    """Mount ``kliqs whatsapp ...`` on the root ``kliqs`` command."""
    app.add_typer(whatsapp_app, name="whatsapp")
