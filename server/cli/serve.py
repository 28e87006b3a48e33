"""``kliqs serve`` and ``kliqs db upgrade``."""

from __future__ import annotations

import typer

from server.config import get_settings
from server.db.engine import make_engine
from server.db.migrate import upgrade
from server.worker import exec_worker

db_app = typer.Typer(help="Database maintenance.", no_args_is_help=True)


def migrate() -> str:
    """Apply migrations to the configured database; returns its URL without password."""
    settings = get_settings()
    engine = make_engine(settings, pool=False)
    try:
        upgrade(engine)
    finally:
        engine.dispose()
    return engine.url.render_as_string(hide_password=True)


@db_app.command("upgrade")
def db_upgrade() -> None:
    """Apply every pending migration."""
    typer.echo(f"database up to date: {migrate()}")


def serve(
    host: str = typer.Option("127.0.0.1", help="address to listen on"),
    port: int = typer.Option(8000, help="port to listen on"),
    workers: int = typer.Option(1, min=1, help="worker processes"),
) -> None:
    """Apply migrations, then serve the API, public links, dashboard and docs."""
    url = migrate()
    typer.echo(f"kliqs: database {url}", err=True)
    typer.echo(f"kliqs: serving on http://{host}:{port} ({workers} worker(s))", err=True)
    # The serving process starts afresh, without this command line's imports (see
    # server/worker.py); the PID stays, so signals sent to `kliqs serve` reach uvicorn.
    exec_worker(host=host, port=port, workers=workers)
