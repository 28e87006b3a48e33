"""The connector's commands, for the lead's ``kliqs`` app to mount::

    app.add_typer(connect_app, name="connect")   # kliqs connect [status|retry]
    app.command("worker")(worker)                 # kliqs worker

``python -m kliqs_core.connector`` runs them too (see ``__main__``).
"""

from __future__ import annotations

from typing import Annotated

import typer
from rich.console import Console
from rich.table import Table

from kliqs_core.connector import runtime
from kliqs_core.connector.db import upgrade
from kliqs_core.connector.models import ProductState
from kliqs_core.connector.operations import list_products, prepare_retry, state_counts
from kliqs_core.connector.records import ProductRecord
from kliqs_core.connector.service import DEFAULT_HOST, DEFAULT_PORT, run_worker, serve_connector

__all__ = ["connect_app", "retry", "status", "worker"]

connect_app = typer.Typer(
    help="The shop connector: receive webhooks, see and retry products.", no_args_is_help=False
)
console = Console()


@connect_app.callback(invoke_without_command=True)
def connect(
    ctx: typer.Context,
    host: Annotated[str, typer.Option(help="Interface to listen on.")] = DEFAULT_HOST,
    port: Annotated[int, typer.Option(help="Port to listen on.")] = DEFAULT_PORT,
) -> None:
    """Serve the connector's webhook endpoints (without a sub-command)."""
    if ctx.invoked_subcommand is None:
        serve_connector(host=host, port=port)


@connect_app.command()
def status(
    platform: Annotated[str | None, typer.Option(help="Only this platform.")] = None,
    state: Annotated[str | None, typer.Option(help="Only this state.")] = None,
    limit: Annotated[int, typer.Option(help="At most this many products.")] = 50,
) -> None:
    """Show products: state, short URL and last error code."""
    if state is not None and state not in {s.value for s in ProductState}:
        raise typer.BadParameter(f"unknown state {state!r}", param_hint="--state")
    database = runtime.get_database()
    upgrade(database)
    counts = state_counts(database, platform=platform)
    console.print(
        _product_table(list_products(database, platform=platform, state=state, limit=limit))
    )
    summary = ", ".join(f"{name}: {counts.get(name.value, 0)}" for name in ProductState)
    console.print(f"[bold]Products[/bold] {summary}")


def _product_table(products: list[ProductRecord]) -> Table:
    table = Table("id", "platform", "shop", "product", "state", "short_url", "last error")
    for product in products:
        style = {"failed": "red", "parked": "yellow", "notified": "green"}.get(product.state, "")
        error = product.last_error_code or ""
        if product.state == ProductState.PARKED and product.parked_until:
            error += f" (until {product.parked_until:%Y-%m-%d %H:%M} UTC)"
        elif product.state == ProductState.FAILED and product.last_error_message:
            # The code says what kind of failure; the message says what to fix (a shop's
            # validation error, for instance).
            error += f": {_excerpt(product.last_error_message)}"
        table.add_row(
            str(product.id),
            product.platform,
            product.shop,
            f"{product.product_id} {product.title}"[:60],
            f"[{style}]{product.state}[/{style}]" if style else product.state,
            product.short_url or "",
            error,
        )
    return table


def _excerpt(message: str, limit: int = 120) -> str:
    one_line = " ".join(message.split())
    return one_line if len(one_line) <= limit else one_line[: limit - 1] + "…"


@connect_app.command()
def retry(
    all_failed: Annotated[
        bool, typer.Option("--all-failed", help="Every failed and parked product.")
    ] = False,
    product: Annotated[
        list[str] | None,
        typer.Option(help="Row id, platform:product_id or platform:shop:product_id (repeatable)."),
    ] = None,
) -> None:
    """Send failed or parked products back to the step they stopped at, and queue them."""
    if not all_failed and not product:
        raise typer.BadParameter("give --all-failed or at least one --product")
    database = runtime.get_database()
    upgrade(database)
    result = prepare_retry(database, refs=product or (), all_failed=all_failed)
    for pk in result.queued:
        runtime.enqueue_product(pk)
    console.print(
        f"Queued {len(result.queued)} product(s): {', '.join(map(str, result.queued)) or '-'}"
    )
    if result.already_done:
        console.print(f"Already done: {', '.join(map(str, result.already_done))}")
    if result.not_found:
        console.print(f"[red]Not found:[/red] {', '.join(result.not_found)}")
        raise typer.Exit(1)


def worker(
    concurrency: Annotated[int, typer.Option("--concurrency", "-c", help="Worker processes.")] = 1,
    pool: Annotated[str, typer.Option(help="Celery pool: prefork, threads or solo.")] = "prefork",
    loglevel: Annotated[str, typer.Option(help="Log level.")] = "INFO",
) -> None:
    """Run a Celery worker for the connector, with the sweeper."""
    run_worker(concurrency=concurrency, pool=pool, loglevel=loglevel)


def register(app: typer.Typer) -> None:
    """Mount ``kliqs connect ...`` and ``kliqs worker`` on the root ``kliqs`` command."""
    app.add_typer(connect_app, name="connect")
    app.command("worker")(worker)
