"""The WooCommerce connector as a user runs it, for end-to-end tests and the pipeline bench.

`ConnectorStack` starts ``python -m kliqs_core.connector connect`` (the web app) and
``... worker`` processes with ``KLIQS_CONNECTOR_PLUGINS=woocommerce``, pointed at a Kliqs
API URL and a WooCommerce shop URL (the real server and the stand-in, or proxies in front of
them), on the embedded SQLite + SQLAlchemy broker or on Redis + PostgreSQL. It reads the
connector database directly to see what happened.
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
import uuid
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx
from sqlalchemy import select

from kliqs_core.connector.db import Database
from kliqs_core.connector.models import Product, WebhookDelivery
from kliqs_core.connector.records import ProductRecord
from kliqs_core.connector.service import spawn_connector, spawn_worker, worker_command

REPO = Path(__file__).resolve().parents[3]
KLIQS_BIN = str(Path(sys.executable).with_name("kliqs"))
CONSUMER_KEY = "ck_0123456789abcdef0123456789abcdef01234567"
CONSUMER_SECRET = "cs_0123456789abcdef0123456789abcdef01234567"


def free_port() -> int:
    """A loopback port free right now."""
    import socket

    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@dataclass(frozen=True)
class Delivery:
    """One stored webhook delivery."""

    delivery_id: str | None
    topic: str
    status: str
    reason: str | None
    product_pk: int | None


@dataclass
class ConnectorStack:
    """Connector and worker processes sharing one data folder, broker and database."""

    folder: Path
    kliqs_url: str
    api_key: str
    shop_url: str
    webhook_secret: str
    broker_url: str | None = None
    database_url: str | None = None
    extra_env: Mapping[str, str] = field(default_factory=dict)
    port: int = field(default_factory=free_port)
    processes: list[subprocess.Popen[bytes]] = field(default_factory=list)
    _database: Database | None = None

    @property
    def webhook_url(self) -> str:
        return f"http://127.0.0.1:{self.port}/webhooks/woocommerce"

    @property
    def env(self) -> dict[str, str]:
        """The environment of every connector process (nothing inherited that could leak in)."""
        inherited = {k: v for k, v in os.environ.items()
                     if not k.startswith(("KLIQS_", "WOOCOMMERCE_"))}  # fmt: skip
        env = {
            **inherited,
            "PYTHONPATH": str(REPO),
            "COLUMNS": "250",  # `kliqs connect status` prints whole URLs
            "KLIQS_DATA_DIR": str(self.folder / "data"),
            "KLIQS_API_URL": self.kliqs_url,
            "KLIQS_API_KEY": self.api_key,
            "KLIQS_CONNECTOR_PLUGINS": "woocommerce",
            "WOOCOMMERCE_URL": self.shop_url,
            "WOOCOMMERCE_CONSUMER_KEY": CONSUMER_KEY,
            "WOOCOMMERCE_CONSUMER_SECRET": CONSUMER_SECRET,
            "WOOCOMMERCE_WEBHOOK_SECRET": self.webhook_secret,
            "KLIQS_CONNECTOR_SWEEP_INTERVAL": "1",
            "KLIQS_CONNECTOR_SWEEP_GRACE": "2",
            "KLIQS_CONNECTOR_LEASE_SECONDS": "3",
            "KLIQS_CONNECTOR_RETRY_BASE": "0.3",
            # A queue of its own: a shared Redis never hands this stack another test's tasks.
            "KLIQS_CONNECTOR_QUEUE": f"kliqs-woo-{uuid.uuid4().hex[:8]}",
        }
        if self.broker_url:
            env["KLIQS_BROKER_URL"] = self.broker_url
        if self.database_url:
            env["KLIQS_CONNECTOR_DATABASE_URL"] = self.database_url
        env.update(self.extra_env)
        return env

    def __post_init__(self) -> None:
        self.folder.mkdir(parents=True, exist_ok=True)
        self._env = self.env  # fixed once: the queue name must not change between processes

    def _spawn(self, name: str, start: Callable[..., subprocess.Popen[bytes]],
               **kwargs: Any) -> subprocess.Popen[bytes]:  # fmt: skip
        # Each process leads its own session, so a kill reaches its pool children too.
        with open(self.log_path(name, len(self.processes)), "wb") as log:
            process = start(env=self._env, cwd=REPO, stdout=log, stderr=subprocess.STDOUT,
                            start_new_session=True, **kwargs)  # fmt: skip
        self.processes.append(process)
        return process

    def start_connector(self, timeout: float = 30) -> subprocess.Popen[bytes]:
        """``kliqs connect`` as a process (`spawn_connector`); returns once ``/healthz`` answers."""
        process = self._spawn("connector", spawn_connector, port=self.port)
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if process.poll() is not None:
                raise RuntimeError(f"connector exited {process.returncode}:\n{self.logs()}")
            try:
                if httpx.get(f"http://127.0.0.1:{self.port}/healthz", timeout=1).status_code == 200:
                    return process
            except httpx.HTTPError:
                pass
            time.sleep(0.1)
        raise TimeoutError(f"connector did not start:\n{self.logs()}")

    def start_worker(self, *, concurrency: int = 1, pool: str = "prefork") -> subprocess.Popen[bytes]:
        """``kliqs worker`` (with its sweeper) as a process (`spawn_worker` for prefork)."""
        if pool == "prefork":
            return self._spawn("worker", spawn_worker, concurrency=concurrency)
        command = worker_command(concurrency=concurrency, pool=pool)
        return self._spawn("worker", lambda **kw: subprocess.Popen(command, **kw))

    @staticmethod
    def kill(process: subprocess.Popen[bytes]) -> None:
        """SIGKILL the process and its children (it leads its own session)."""
        try:
            os.killpg(process.pid, signal.SIGKILL)
        except ProcessLookupError:
            pass
        process.wait(10)

    def stop(self) -> None:
        """Kill every process started here and close the database handle."""
        for process in self.processes:
            self.kill(process)
        if self._database is not None:
            self._database.dispose()

    def log_path(self, name: str, number: int) -> Path:
        """Where the ``number``-th process started (``name``: connector, worker) prints."""
        return self.folder / f"{name}-{number}.log"

    def logs(self) -> str:
        """Everything the processes printed."""
        return "\n".join(f"--- {path.name}\n{path.read_text(errors='replace')[-6000:]}"
                         for path in sorted(self.folder.glob("*.log")))  # fmt: skip

    @property
    def database(self) -> Database:
        """The connector database, read directly."""
        if self._database is None:
            url = self.database_url or f"sqlite:///{self.folder / 'data' / 'connector.sqlite'}"
            self._database = Database(url)
        return self._database

    def products(self) -> dict[str, ProductRecord]:
        """Stored products by WooCommerce product id."""
        with self.database.transaction() as session:
            rows = session.scalars(select(Product).where(Product.platform == "woocommerce"))
            return {row.product_id: ProductRecord.from_row(row) for row in rows}

    def deliveries(self) -> list[Delivery]:
        """Stored webhook deliveries, oldest first."""
        with self.database.transaction() as session:
            rows = session.scalars(select(WebhookDelivery).order_by(WebhookDelivery.id))
            return [Delivery(r.delivery_id, r.topic, r.status, r.reason, r.product_pk)
                    for r in rows]  # fmt: skip

    def kliqs(self, *args: str, timeout: float = 60) -> subprocess.CompletedProcess[str]:
        """Run a ``kliqs`` command with the stack's environment."""
        return subprocess.run([KLIQS_BIN, *args], env=self._env, cwd=REPO, capture_output=True,
                              text=True, timeout=timeout, check=False)  # fmt: skip

    def wait_for(self, condition: Callable[[], Any], *, timeout: float = 60, what: str = "") -> Any:
        """Poll ``condition`` until it returns something truthy; fail with the logs."""
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            result = condition()
            if result:
                return result
            time.sleep(0.1)
        states = {pid: (p.state, p.last_error_code) for pid, p in self.products().items()}
        raise AssertionError(f"timed out waiting for {what or condition}; products {states}\n"
                             f"{self.logs()}")  # fmt: skip

    def all_in_state(self, product_ids: list[str], state: str = "notified") -> bool:
        """True when every listed product is stored and in ``state``."""
        products = self.products()
        return all(pid in products and products[pid].state == state for pid in product_ids)
