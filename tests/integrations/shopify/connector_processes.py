"""End-to-end support: the real Kliqs server, the connector and a Celery worker as processes.

Shared by the Shopify and Saleor end-to-end tests (import it as
``tests.integrations.shopify.connector_processes``):

- :func:`start_kliqs_server`: ``kliqs serve`` (:class:`ProcessServer`) on SQLite, migrated and
  given an account *before* it starts, so the connector and worker can start beside it;
- :class:`KliqsProxy`: a pass-through in front of that server which can hold the answer to the
  next create-link request after the server made the link (the moment to ``kill -9`` a worker);
- :class:`ConnectorProcesses`: ``python -m kliqs_core.connector connect`` and ``worker`` with a
  plug-in, on the embedded SQLite broker, with test-friendly sweep and lease times.
"""

from __future__ import annotations

import os
import signal
import subprocess
import threading
import time
import uuid
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import httpx
import pytest
import requests

from kliqs_core.connector import ProductRecord, find_product
from kliqs_core.connector.db import Database
from kliqs_core.connector.service import connector_command, worker_command
from kliqs_core.connector.settings import ConnectorSettings
from kliqs_testing.databases import make_database
from kliqs_testing.servers import ApiAccount, ProcessServer, free_port
from server.db.engine import make_engine
from server.db.migrate import upgrade

REPO = Path(__file__).resolve().parents[3]
LINKS_PATH = "/api/v1/links"
#: Generous: two shared cores, and other suites running beside this one.
PATIENCE = 60.0


def wait_for(condition: Callable[[], object], *, timeout: float = PATIENCE,
             describe: Callable[[], str] = lambda: "") -> None:
    """Poll ``condition`` every 0.2 s; fail with ``describe()`` (logs) on timeout."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if condition():
            return
        time.sleep(0.2)
    pytest.fail(f"timed out after {timeout:.0f}s\n{describe()[-6000:]}")


def prepare_kliqs_server(folder: Path) -> tuple[ProcessServer, ApiAccount]:
    """A migrated server database with a ``starter`` account; the server is not started yet."""
    server = ProcessServer(make_database("sqlite", folder), folder)
    engine = make_engine(server.settings(), pool=False)
    upgrade(engine)
    engine.dispose()
    return server, server.new_account("starter")


def server_links(server: ProcessServer, account: ApiAccount) -> list[dict[str, Any]]:
    """Every link of ``account`` on the real server, through its public API."""
    items: list[dict[str, Any]] = []
    cursor: str | None = None
    while True:
        params = {"cursor": cursor} if cursor else {}
        answer = httpx.get(f"{server.url}{LINKS_PATH}", headers=account.auth, params=params,
                           timeout=30)
        answer.raise_for_status()
        data = answer.json()["data"]
        items.extend(data["items"])
        cursor = data.get("next_cursor")
        if not cursor:
            return items


@dataclass
class KliqsProxy:
    """Forwards everything to ``target``; can hold back one create-link answer."""

    target: str
    #: Set to hold the answer of the next ``POST /api/v1/links`` (the link is made first).
    hold_next: threading.Event = field(default_factory=threading.Event)
    #: Set once a held request has been answered by the server.
    created: threading.Event = field(default_factory=threading.Event)
    #: Set to let a held answer go (the client is usually dead by then).
    release: threading.Event = field(default_factory=threading.Event)
    #: ``Idempotency-Key`` of every create-link request, in order.
    create_keys: list[str | None] = field(default_factory=list)

    def __post_init__(self) -> None:
        self._server = ThreadingHTTPServer(("127.0.0.1", free_port()), _proxy_handler(self))
        self._server.daemon_threads = True  # a held thread must not block the shutdown
        self._session = requests.Session()
        self._lock = threading.Lock()

    @property
    def url(self) -> str:
        """Base URL for ``KLIQS_API_URL``."""
        return f"http://127.0.0.1:{self._server.server_port}"

    def start(self) -> KliqsProxy:
        """Serve in a daemon thread."""
        threading.Thread(target=self._server.serve_forever, kwargs={"poll_interval": 0.05},
                         daemon=True).start()
        return self

    def stop(self) -> None:
        """Let any held answer go, stop serving, release the port."""
        self.release.set()
        self._server.shutdown()
        self._server.server_close()
        self._session.close()

    def forward(self, method: str, path: str, headers: Mapping[str, str],
                body: bytes) -> requests.Response:
        """Send one request on to the server; note create-link keys; hold if asked."""
        creating = method == "POST" and path.split("?", 1)[0] == LINKS_PATH
        if creating:
            with self._lock:
                self.create_keys.append(headers.get("idempotency-key"))
        sent = {k: v for k, v in headers.items() if k not in ("host", "content-length")}
        answer = self._session.request(method, self.target + path, headers=sent, data=body,
                                       timeout=30)
        if creating and self.hold_next.is_set():
            self.hold_next.clear()
            self.created.set()
            self.release.wait(PATIENCE)
        return answer


def _proxy_handler(proxy: KliqsProxy) -> type[BaseHTTPRequestHandler]:
    class Handler(BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"

        def _relay(self) -> None:
            length = int(self.headers.get("Content-Length") or 0)
            body = self.rfile.read(length) if length else b""
            headers = {k.lower(): v for k, v in self.headers.items()}
            answer = proxy.forward(self.command, self.path, headers, body)
            try:
                self.send_response(answer.status_code)
                for name, value in answer.headers.items():
                    if name.lower() not in ("content-length", "transfer-encoding", "connection",
                                            "content-encoding"):
                        self.send_header(name, value)
                self.send_header("Content-Length", str(len(answer.content)))
                self.end_headers()
                self.wfile.write(answer.content)
            except OSError:
                pass  # the client was killed while its answer was held

        do_GET = do_POST = do_PUT = do_PATCH = do_DELETE = _relay  # noqa: N815

        def log_message(self, format: str, *args: Any) -> None:  # keep test output clean
            return

    return Handler


class ConnectorProcesses:
    """The connector web app and Celery workers of one plug-in, as child processes."""

    def __init__(self, folder: Path, *, plugin: str, api_url: str, api_key: str,
                 platform_env: Mapping[str, str]) -> None:
        self.folder = folder
        self.data_dir = folder / "connector-data"
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        self.connector: subprocess.Popen[bytes] | None = None
        self.workers: list[subprocess.Popen[bytes]] = []
        queue = f"kliqs-connector-e2e-{uuid.uuid4().hex[:8]}"
        self.env = {
            **{k: v for k, v in os.environ.items()
               if not k.startswith(("SHOPIFY_", "SALEOR_", "KLIQS_", "WOOCOMMERCE_"))},
            "PYTHONPATH": str(REPO),
            "KLIQS_DATA_DIR": str(self.data_dir),
            "KLIQS_API_URL": api_url,
            "KLIQS_API_KEY": api_key,
            "KLIQS_CONNECTOR_PLUGINS": plugin,
            "KLIQS_CONNECTOR_SWEEP_INTERVAL": "1",
            "KLIQS_CONNECTOR_SWEEP_GRACE": "2",
            "KLIQS_CONNECTOR_LEASE_SECONDS": "5",
            "KLIQS_CONNECTOR_RETRY_BASE": "0.5",
            "KLIQS_CONNECTOR_QUEUE": queue,
            **platform_env,
        }
        self.settings = ConnectorSettings(data_dir=self.data_dir, connector_queue=queue)
        self.database = Database(self.settings.database_url)

    def _spawn(self, command: list[str], name: str) -> subprocess.Popen[bytes]:
        with open(self.folder / f"{name}.log", "ab") as log:
            return subprocess.Popen(command, env=self.env, cwd=REPO, stdout=log,
                                    stderr=subprocess.STDOUT, start_new_session=True)

    def start_connector(self) -> None:
        """``python -m kliqs_core.connector connect --port <free port>``."""
        self.connector = self._spawn(connector_command(port=self.port), "connector")

    def start_worker(self) -> subprocess.Popen[bytes]:
        """``python -m kliqs_core.connector worker --concurrency 1`` (prefork)."""
        worker = self._spawn(worker_command(concurrency=1), f"worker-{len(self.workers)}")
        self.workers.append(worker)
        return worker

    def wait_ready(self, platform: str) -> None:
        """Wait until the connector's ``/healthz`` lists the platform's webhook route."""
        def ready() -> bool:
            if self.connector is not None and self.connector.poll() is not None:
                pytest.fail(f"connector exited {self.connector.returncode}:\n{self.logs()}")
            try:
                health = httpx.get(f"{self.url}/healthz", timeout=2)
            except httpx.HTTPError:
                return False
            return health.status_code == 200 and platform in health.json()["data"]["webhooks"]

        wait_for(ready, describe=self.logs)

    def kill_worker(self, worker: subprocess.Popen[bytes]) -> None:
        """``kill -9`` the worker and its pool processes (its whole process group)."""
        _killpg(worker, signal.SIGKILL)
        worker.wait(30)

    def stored(self, platform: str, shop: str, product_id: str) -> ProductRecord | None:
        """The connector's row of a product, read from its database."""
        return find_product(platform, shop, product_id, database=self.database)

    def logs(self) -> str:
        """Everything the processes printed so far."""
        return "\n".join(f"--- {p.name}\n{p.read_text(errors='replace')[-3000:]}"
                         for p in sorted(self.folder.glob("*.log")))

    def stop(self) -> None:
        """Stop every process started here (workers by SIGKILL: nothing to keep)."""
        for worker in self.workers:
            _killpg(worker, signal.SIGKILL)
            worker.wait(30)
        if self.connector is not None:
            _killpg(self.connector, signal.SIGTERM)
            try:
                self.connector.wait(15)
            except subprocess.TimeoutExpired:
                _killpg(self.connector, signal.SIGKILL)
                self.connector.wait(15)
        self.database.dispose()


def _killpg(process: subprocess.Popen[bytes], sig: int) -> None:
    # Each child leads its own session, so the group is exactly it and its pool children.
    try:
        os.killpg(process.pid, sig)
    except ProcessLookupError:
        pass


def start_config_check(folder: Path, *, plugin: str, platform_env: Mapping[str, str],
                       timeout: float = PATIENCE) -> tuple[int, str]:
    """Start a connector that should refuse to start; its exit code and output."""
    processes = ConnectorProcesses(folder, plugin=plugin, api_url="http://127.0.0.1:9",
                                   api_key="unused", platform_env=platform_env)
    processes.start_connector()
    assert processes.connector is not None
    try:
        code = processes.connector.wait(timeout)
    finally:
        processes.stop()
    return code, (folder / "connector.log").read_text(errors="replace")
