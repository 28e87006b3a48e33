"""``kliqs up``: the Kliqs server, the shop connector and a worker on one machine (SQLite).

The connector calls the local server through the public API like any customer, with a key of
a local operator account made on first start. That key is kept in the data directory
(``connector-api-key``, mode 0600) so restarts reuse it; set ``KLIQS_API_KEY`` to use your own.
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import httpx
import typer
from rich.console import Console
from rich.table import Table

from server.cli.serve import migrate
from server.config import get_settings
from server.db.engine import make_engine
from server.services import accounts

OPERATOR_EMAIL = "connector@localhost.localdomain"
KEY_FILE = "connector-api-key"
# A platform is enabled when its first setting is present (KLIQS_CONNECTOR_PLUGINS overrides).
PLATFORM_MARKERS = {
    "woocommerce": "WOOCOMMERCE_URL",
    "shopify": "SHOPIFY_SHOP",
    "saleor": "SALEOR_API_URL",
    "whatsapp_bot": "WHATSAPP_PHONE_NUMBER_ID",
}

console = Console()


def connector_key(data_dir: Path) -> str:
    """The API key the local connector uses, created (with its account) on first start."""
    if os.environ.get("KLIQS_API_KEY"):
        return os.environ["KLIQS_API_KEY"]
    path = data_dir / KEY_FILE
    if path.exists():
        return path.read_text().strip()
    engine = make_engine(get_settings(), pool=False)
    try:
        with engine.begin() as conn:
            try:
                account_id = accounts.create_account(conn, OPERATOR_EMAIL, plan="business")
            except accounts.AccountError:
                account_id = accounts.account_id_for(conn, OPERATOR_EMAIL)
            _, key = accounts.create_key(conn, account_id, "kliqs up connector")
    finally:
        engine.dispose()
    path.touch(mode=0o600)
    path.write_text(key + "\n")
    return key


def enabled_platforms() -> str:
    """``KLIQS_CONNECTOR_PLUGINS``, or the platforms whose settings are present."""
    explicit = os.environ.get("KLIQS_CONNECTOR_PLUGINS")
    if explicit is not None:
        return explicit
    return ",".join(name for name, marker in PLATFORM_MARKERS.items() if os.environ.get(marker))


def up(
    host: str = typer.Option("127.0.0.1", help="address every part listens on"),
    port: int = typer.Option(8000, help="port of the Kliqs server"),
    connector_port: int = typer.Option(8100, help="port of the connector's webhooks"),
) -> None:
    """Start the Kliqs server, the connector and a worker together; Ctrl-C stops them all."""
    settings = get_settings()
    database = migrate()
    api_url = f"http://{host}:{port}"
    env = {
        **os.environ,
        "KLIQS_API_URL": os.environ.get("KLIQS_API_URL", api_url),
        "KLIQS_API_KEY": connector_key(settings.data_dir),
        "KLIQS_CONNECTOR_PLUGINS": enabled_platforms(),
    }
    kliqs = str(Path(sys.executable).with_name("kliqs"))
    commands = {
        "server": [kliqs, "serve", "--host", host, "--port", str(port)],
        "connector": [kliqs, "connect", "--host", host, "--port", str(connector_port)],
        "worker": [kliqs, "worker"],
    }
    children = {name: subprocess.Popen(cmd, env=env) for name, cmd in commands.items()}
    try:
        _wait_ready(f"{api_url}/healthz", children["server"])
        _wait_ready(f"http://{host}:{connector_port}/healthz", children["connector"])
        _print_map(host, port, connector_port, database, env["KLIQS_CONNECTOR_PLUGINS"])
        _supervise(children)
    finally:
        _stop_all(children)


def _wait_ready(url: str, proc: subprocess.Popen[bytes], timeout: float = 60) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise typer.Exit(1)
        try:
            if httpx.get(url, timeout=1).status_code == 200:
                return
        except httpx.HTTPError:
            time.sleep(0.2)
    console.print(f"[red]{url} did not answer within {timeout:.0f} s[/red]")
    raise typer.Exit(1)


def _print_map(host: str, port: int, connector_port: int, database: str, plugins: str) -> None:
    base, hooks = f"http://{host}:{port}", f"http://{host}:{connector_port}"
    table = Table(title="Kliqs is up", show_header=False)
    table.add_row("API", f"{base}/api/v1")
    table.add_row("API docs", f"{base}/docs")
    table.add_row("Dashboard", f"{base}/dash")
    table.add_row("Short links", f"{base}/{{code}}")
    table.add_row("Connector", f"{hooks}/webhooks/<platform>  (health: {hooks}/healthz)")
    table.add_row("Platforms", plugins or "none configured (set WOOCOMMERCE_URL, SHOPIFY_SHOP, ...)")
    table.add_row("Worker", "running (Celery, embedded broker unless KLIQS_BROKER_URL)")
    table.add_row("Database", database)
    console.print(table)
    console.print("Create an account: kliqs accounts create you@example.com --password ...")
    console.print("Press Ctrl-C to stop everything.")


def _supervise(children: dict[str, subprocess.Popen[bytes]]) -> None:
    stop = {"requested": False}

    def _request_stop(_signum: int, _frame: object) -> None:
        stop["requested"] = True

    signal.signal(signal.SIGTERM, _request_stop)
    signal.signal(signal.SIGINT, _request_stop)
    while not stop["requested"]:
        for name, proc in children.items():
            if proc.poll() is not None:
                console.print(f"[red]{name} exited with {proc.returncode}; stopping[/red]")
                raise typer.Exit(1)
        time.sleep(0.5)


def _stop_all(children: dict[str, subprocess.Popen[bytes]]) -> None:
    for proc in children.values():
        if proc.poll() is None:
            proc.send_signal(signal.SIGTERM)
    for proc in children.values():
        try:
            proc.wait(30)
        except subprocess.TimeoutExpired:
            proc.kill()
