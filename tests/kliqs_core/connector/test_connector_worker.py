"""A real Celery worker process on the embedded broker (or Redis): end to end, and kill -9.

The worker loads ``connector_worker_plugin`` (this folder) through
``KLIQS_CONNECTOR_PLUGINS``: a platform, a notifier and a Kliqs client that share their
state with this test through files, so the test can count links, write-backs and messages
across processes.
"""

from __future__ import annotations

import json
import os
import re
import signal
import sqlite3
import subprocess
import time
import uuid
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

from kliqs_core.connector import ProductInput, accept_webhook, runtime
from kliqs_core.connector.celery_app import close_broker_connections, configure_celery
from kliqs_core.connector.inbox import find_product
from kliqs_core.connector.priority import AUTOGROUP
from kliqs_core.connector.records import ProductRecord
from kliqs_core.connector.service import worker_command
from kliqs_core.connector.settings import ConnectorSettings
from kliqs_testing.databases import postgres_database, redis_url

pytestmark = pytest.mark.slow

HERE = Path(__file__).parent
REPO = HERE.parents[2]
SHOP = "toko.test"


class Env:
    """The data and state folders, the environment of worker processes, and the workers."""

    def __init__(self, tmp_path: Path, broker_url: str | None, database_url: str | None) -> None:
        self.data_dir = tmp_path / "data"
        self.state_dir = tmp_path / "state"
        self.state_dir.mkdir()
        self.workers: list[subprocess.Popen[bytes]] = []
        self.environ = {
            **os.environ,
            "PYTHONPATH": os.pathsep.join([str(HERE), str(REPO)]),
            "KLIQS_DATA_DIR": str(self.data_dir),
            "KLIQS_TEST_STATE_DIR": str(self.state_dir),
            "KLIQS_CONNECTOR_PLUGINS": "connector_worker_plugin",
            "KLIQS_CONNECTOR_SWEEP_INTERVAL": "1",
            "KLIQS_CONNECTOR_SWEEP_GRACE": "2",
            "KLIQS_CONNECTOR_LEASE_SECONDS": "4",
            "KLIQS_CONNECTOR_RETRY_BASE": "0.5",
            # A queue of its own, so a shared Redis never hands this worker another test's tasks.
            "KLIQS_CONNECTOR_QUEUE": f"kliqs-connector-test-{uuid.uuid4().hex[:8]}",
        }
        self.environ.pop("KLIQS_CONNECTOR_DATABASE_URL", None)
        self.environ.pop("KLIQS_BROKER_URL", None)
        if broker_url:
            self.environ["KLIQS_BROKER_URL"] = broker_url
        if database_url:
            self.environ["KLIQS_CONNECTOR_DATABASE_URL"] = database_url
        self.settings = ConnectorSettings(
            data_dir=self.data_dir,
            broker_url=broker_url,
            connector_database_url=database_url,
            connector_sweep_grace=2,
            connector_queue=self.environ["KLIQS_CONNECTOR_QUEUE"],
        )

    def start_worker(self) -> subprocess.Popen[bytes]:
        log = open(self.state_dir / f"worker-{len(self.workers)}.log", "wb")
        worker = subprocess.Popen(
            worker_command(concurrency=1, loglevel="INFO"),
            env=self.environ,
            cwd=REPO,
            stdout=log,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
        log.close()
        self.workers.append(worker)
        return worker

    def logs(self) -> str:
        return "\n".join(
            path.read_text(errors="replace") for path in sorted(self.state_dir.glob("worker-*.log"))
        )

    def stop_all(self) -> None:
        for worker in self.workers:
            # Each worker leads its own session; this reaches its pool children (orphans too).
            try:
                os.killpg(worker.pid, signal.SIGKILL)
            except ProcessLookupError:
                pass
            worker.wait(10)

    def lines(self, name: str) -> list[str]:
        path = self.state_dir / name
        return path.read_text().splitlines() if path.exists() else []

    def links_db(self) -> sqlite3.Connection:
        return sqlite3.connect(self.state_dir / "links.sqlite")


@pytest.fixture(
    params=[
        "embedded",
        pytest.param("redis", marks=pytest.mark.redis),
        pytest.param("postgres", marks=pytest.mark.postgres),
    ]
)
def env(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[Env]:
    """Embedded (SQLite + SQLAlchemy broker), Redis broker, or a PostgreSQL connector database."""
    broker_url = redis_url() if request.param == "redis" else None
    pg = postgres_database() if request.param == "postgres" else None
    environment = Env(tmp_path, broker_url, pg.url if pg else None)
    runtime.reset()
    runtime.set_settings(environment.settings)
    runtime.start_up()
    configure_celery(environment.settings)
    try:
        yield environment
    finally:
        environment.stop_all()
        runtime.reset()
        close_broker_connections()
        if pg is not None:
            pg.drop()


def deliver(product_id: str, title: str) -> int:
    accepted = accept_webhook(
        platform="filetest",
        shop=SHOP,
        delivery_id=f"d-{product_id}",
        topic="product.created",
        body=json.dumps({"id": product_id}).encode(),
        product=ProductInput(product_id, title, f"https://{SHOP}/p/{product_id}"),
    )
    assert accepted.queued and accepted.product_pk is not None
    return accepted.product_pk


def wait_for(condition: Callable[[], object], env: Env, timeout: float = 30.0) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if condition():
            return
        time.sleep(0.2)
    pytest.fail(f"timed out; worker logs:\n{env.logs()[-4000:]}")


def stored(product_id: str) -> ProductRecord:
    found = find_product("filetest", SHOP, product_id)
    assert found is not None
    return found


def test_worker_process_runs_webhook_products_end_to_end(env: Env) -> None:
    (env.state_dir / "fail_once").touch()  # the first create-link answers 503: a Celery retry
    worker = env.start_worker()
    deliver("1", "Kopi Gayo")
    deliver("2", "Kopi Gayo")  # same title: one of them gets a 409, then the -2 suffix

    wait_for(lambda: stored("1").state == "notified" and stored("2").state == "notified", env)

    urls = {stored("1").short_url, stored("2").short_url}
    assert urls == {"https://kliqs.test/kopi-gayo", "https://kliqs.test/kopi-gayo-2"}
    assert sorted(env.lines("writes.log")) == sorted(
        f"{pid} {stored(pid).short_url}" for pid in "12"
    )
    assert sorted(env.lines("notify.log")) == sorted(env.lines("writes.log"))
    with env.links_db() as db:
        assert db.execute("SELECT count(*) FROM links").fetchone() == (2,)
        # 503 + retry, 409 + next suffix, and one plain success
        assert db.execute("SELECT count(*) FROM calls").fetchone() == (4,)
    assert "SERVICE_UNAVAILABLE" in env.logs() and "Retry in" in env.logs()
    # Webhook answers come first on a shared machine: the worker runs 10 nice levels lower.
    ours = os.getpriority(os.PRIO_PROCESS, 0)
    assert os.getpriority(os.PRIO_PROCESS, worker.pid) == min(19, ours + 10)
    # It leads its own session, so with autogroups its session's share is lowered too.
    if AUTOGROUP.exists():
        assert Path(f"/proc/{worker.pid}/autogroup").read_text().split()[1:] == ["nice", "10"]


def test_worker_killed_mid_task_finishes_the_product_exactly_once(env: Env) -> None:
    (env.state_dir / "hang_on_create").touch()
    first = env.start_worker()
    deliver("7", "Sepatu Lari")
    wait_for(lambda: (env.state_dir / "created.flag").exists(), env)

    # The API has created the link; the connector has not stored it. SIGKILL the main
    # process: on the SQLAlchemy transport its in-flight message is gone for good.
    os.kill(first.pid, signal.SIGKILL)
    first.wait(10)
    (env.state_dir / "hang_on_create").unlink()
    assert stored("7").state == "received" and stored("7").short_url is None

    env.start_worker()  # its sweeper re-queues the product once the dead worker's lease ends
    wait_for(lambda: stored("7").state == "notified", env)

    with env.links_db() as db:
        links = db.execute("SELECT id, code FROM links").fetchall()
        keys = [key for (key,) in db.execute("SELECT key FROM calls")]
    assert links == [("link-1", "sepatu-lari")]  # one link: the resent request was a replay
    assert len(keys) == 2 and len(set(keys)) == 1
    assert stored("7").short_url == "https://kliqs.test/sepatu-lari"
    assert env.lines("writes.log") == ["7 https://kliqs.test/sepatu-lari"]
    assert env.lines("notify.log") == ["7 https://kliqs.test/sepatu-lari"]


def test_a_burst_published_in_grouped_messages_finishes_every_product(env: Env) -> None:
    # What a webhook handler does: enqueue_soon hands the id to the publisher thread, which
    # groups ids arriving together into process_products messages (up to 16). A retry inside
    # one (the first create-link answers 503) is queued as its own process_product.
    (env.state_dir / "fail_once").touch()
    held: list[int] = []
    for n in range(20, 26):
        accept_webhook(
            platform="filetest", shop=SHOP, delivery_id=f"d-{n}", topic="product.created",
            body=b"{}", product=ProductInput(str(n), f"Produk {n}", f"https://{SHOP}/p/{n}"),
            enqueue=held.append,
        )  # fmt: skip
    for pk in held:
        runtime.enqueue_soon(pk)
    runtime.close_publisher()
    env.start_worker()

    wait_for(lambda: all(stored(str(n)).state == "notified" for n in range(20, 26)), env)
    grouped = re.findall(r"products \[([\d, ]+)\], one message", env.logs())
    assert grouped and all(len(ids.split(",")) > 1 for ids in grouped), env.logs()
    assert "SERVICE_UNAVAILABLE" in env.logs()
    assert sorted(line.split()[0] for line in env.lines("writes.log")) == [
        str(n) for n in range(20, 26)
    ]
    with env.links_db() as db:
        assert db.execute("SELECT count(*) FROM links").fetchone() == (6,)
