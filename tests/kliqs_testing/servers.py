"""The real Kliqs server over real HTTP: as a subprocess (``kliqs serve``) or in a thread."""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import threading
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx
import uvicorn
from sqlalchemy import Engine

from kliqs_testing.databases import Database
from server.config import Settings
from server.db.engine import make_engine
from server.db.migrate import upgrade
from server.services import accounts

KLIQS_BIN = str(Path(sys.executable).with_name("kliqs"))


def free_port() -> int:
    """A TCP port free on loopback right now."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@dataclass(frozen=True)
class ApiAccount:
    """An account made for a test, with one API key."""

    id: str
    email: str
    key: str
    key_id: str

    @property
    def auth(self) -> dict[str, str]:
        """The Authorization header for the key."""
        return {"Authorization": f"Bearer {self.key}"}


@dataclass
class ServerBase:
    """What both server kinds share: settings, direct database access, accounts."""

    database: Database
    data_dir: Path
    env: dict[str, str] = field(default_factory=dict)
    port: int = field(default_factory=free_port)
    _engine: Engine | None = None

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def settings(self) -> Settings:
        """Settings equal to the server's (for direct database access from the test)."""
        fields = {
            "data_dir": self.data_dir,
            "database_url": self.database.url,
            "public_base_url": self.url,
        }
        for name, value in self.env.items():  # the server's own env wins, as in the process
            if name.startswith("KLIQS_"):
                fields[name.removeprefix("KLIQS_").lower()] = value
        return Settings(**fields)

    @property
    def engine(self) -> Engine:
        if self._engine is None:
            self._engine = make_engine(self.settings())
        return self._engine

    def new_account(self, plan: str = "free", *, password: str | None = None) -> ApiAccount:
        """A fresh account on ``plan`` with one key."""
        email = f"user-{time.monotonic_ns()}@example.com"
        with self.engine.begin() as conn:
            account_id = accounts.create_account(conn, email, plan=plan, password=password)
            key_id, key = accounts.create_key(conn, account_id, "test")
        return ApiAccount(account_id, email, key, key_id)

    def client(self, **kwargs: Any) -> httpx.Client:
        """An HTTP client for this server."""
        return httpx.Client(base_url=self.url, timeout=30, **kwargs)

    def wait_ready(self, timeout: float = 30) -> None:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            try:
                if httpx.get(f"{self.url}/healthz", timeout=1).status_code == 200:
                    return
            except httpx.HTTPError:
                pass
            self._check_alive()
            time.sleep(0.05)
        raise TimeoutError(f"server at {self.url} did not start")

    def _check_alive(self) -> None:
        pass

    def close_engine(self) -> None:
        if self._engine is not None:
            self._engine.dispose()
            self._engine = None


@dataclass
class ProcessServer(ServerBase):
    """``kliqs serve`` in a subprocess, as a user runs it."""

    workers: int = 1
    proc: subprocess.Popen[bytes] | None = None
    log_path: Path | None = None

    def start(self) -> ProcessServer:
        env = {
            **os.environ,
            "KLIQS_DATA_DIR": str(self.data_dir),
            "KLIQS_DATABASE_URL": self.database.url,
            "KLIQS_PUBLIC_BASE_URL": self.url,
            **self.env,
        }
        self.log_path = self.data_dir / f"server-{self.port}.log"
        log = self.log_path.open("wb")
        self.proc = subprocess.Popen(
            [KLIQS_BIN, "serve", "--port", str(self.port), "--workers", str(self.workers)],
            env=env,
            stdout=log,
            stderr=subprocess.STDOUT,
        )
        self.wait_ready()
        return self

    def _check_alive(self) -> None:
        if self.proc is not None and self.proc.poll() is not None:
            raise RuntimeError(f"server exited {self.proc.returncode}: {self.log()}")

    def log(self) -> str:
        """What the server printed so far."""
        return self.log_path.read_text(errors="replace") if self.log_path else ""

    def stop(self, sig: int = signal.SIGTERM, timeout: float = 30) -> int:
        """Send ``sig`` and wait for the exit; returns the exit code."""
        self.close_engine()
        if self.proc is None:
            return 0
        if self.proc.poll() is None:
            self.proc.send_signal(sig)
            try:
                self.proc.wait(timeout)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()
        return self.proc.returncode


@dataclass
class ThreadServer(ServerBase):
    """The app served by uvicorn in a thread of the test process (so tests can move the
    clock with ``server.clock.set_offset``); still real HTTP on a real socket."""

    _server: uvicorn.Server | None = None
    _thread: threading.Thread | None = None

    def start(self) -> ThreadServer:
        from server.app import create_app

        settings = self.settings()
        engine = make_engine(settings, pool=False)
        upgrade(engine)
        engine.dispose()
        config = uvicorn.Config(
            create_app(settings), host="127.0.0.1", port=self.port, log_level="warning",
            lifespan="on",
        )
        self._server = uvicorn.Server(config)
        self._thread = threading.Thread(target=self._server.run, daemon=True)
        self._thread.start()
        self.wait_ready()
        return self

    def stop(self) -> None:
        self.close_engine()
        if self._server is not None and self._thread is not None:
            self._server.should_exit = True
            self._thread.join(15)
