"""``kliqs serve`` and ``kliqs db upgrade``."""

from __future__ import annotations

import typer
import uvicorn

from server.config import get_settings
from server.db.engine import make_engine
from server.db.migrate import upgrade

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
    uvicorn.run(
        "server.app:create_app",
        factory=True,
        host=host,
        port=port,
        workers=workers,
        log_level=get_settings().log_level,
        access_log=False,
        timeout_graceful_shutdown=10,
        # API clients and the SDK reuse connections; 5 s (uvicorn's default) drops them
        # between bursts of a shop sync.
        timeout_keep_alive=30,
        # X-Forwarded-* are read only where we trust them (KLIQS_COUNTRY_HEADER and the
        # public side's client IP setting), not on every request by uvicorn.
        proxy_headers=False,
    )
