"""Helpers shared by the server's commands."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager

import typer
from rich.console import Console
from sqlalchemy import Connection

from server.config import get_settings
from server.db.engine import make_engine
from server.db.migrate import upgrade
from server.services.accounts import AccountError

err_console = Console(stderr=True)


@contextmanager
def transaction() -> Iterator[Connection]:
    """A migrated database and one transaction; refusals print and exit 1."""
    engine = make_engine(get_settings(), pool=False)
    try:
        upgrade(engine)
        with engine.begin() as conn:
            yield conn
    except AccountError as exc:
        err_console.print(f"[red]error:[/red] {exc}")
        raise typer.Exit(1) from None
    finally:
        engine.dispose()
