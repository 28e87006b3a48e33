"""Faults with real processes: a throughput error from Meta; kill -9 of the worker mid-broadcast.

Same set-up as test_wa_e2e (``kliqs serve``, connector and Celery worker processes, the
WooCommerce and Graph API stand-ins), embedded and on Redis + PostgreSQL.
"""

from __future__ import annotations

import time
from collections import Counter
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path

import pytest
from wa_stack import WaStack, wa_stack

from integrations.whatsapp_bot.models import Subscriber
from kliqs_testing.databases import make_database, postgres_database, redis_url
from kliqs_testing.servers import ProcessServer

pytestmark = pytest.mark.slow


@pytest.fixture(scope="module")
def kliqs_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[ProcessServer]:
    folder = tmp_path_factory.mktemp("wa-kliqs-faults")
    database = make_database("sqlite", folder)
    server = ProcessServer(database, folder).start()
    yield server
    server.stop()
    database.drop()


@pytest.fixture(params=["embedded", pytest.param("redis+postgres", marks=[pytest.mark.redis,
                                                                          pytest.mark.postgres])])
def backend(request: pytest.FixtureRequest) -> Iterator[dict[str, str | None]]:
    """Embedded SQLite + SQLAlchemy broker, or a Redis broker and a fresh PostgreSQL database."""
    if request.param == "embedded":
        yield {"broker_url": None, "database_url": None}
        return
    pg = postgres_database()
    try:
        yield {"broker_url": redis_url(), "database_url": pg.url}
    finally:
        pg.drop()


def _subscribe(wa: WaStack, phones: list[str]) -> None:
    """Subscribers who gave consent elsewhere (out of the 24-hour window: templates)."""
    now = datetime.now(UTC)
    with wa.stack.database.transaction() as session:
        for phone in phones:
            session.add(Subscriber(phone=phone, status="active", consent_at=now,
                                   consent_source="web", created_at=now, updated_at=now))


def test_throughput_error_is_backed_off_and_delivered_later(
    tmp_path: Path, kliqs_server: ProcessServer, backend: dict[str, str | None]
) -> None:
    phone = "6281700000001"
    with wa_stack(tmp_path, kliqs_server, **backend) as wa:  # type: ignore[arg-type]
        _subscribe(wa, [phone])
        wa.graph.fail_next(130429, times=2, http_status=400)

        wa.publish("Sepatu Lari")

        wa.wait_for(lambda: wa.product_messages("Sepatu Lari"), "the delivery")
        attempts = wa.graph.attempts
        assert [a.error_code for a in attempts] == [130429, 130429, None]
        # retry base 0.5 s: the waits are at least 0.25 s and then 0.5 s
        assert attempts[1].arrived_at - attempts[0].arrived_at >= 0.25
        assert attempts[2].arrived_at - attempts[1].arrived_at >= 0.5
        [row] = wa.wait_for(lambda: [r for r in wa.deliveries() if r.state == "sent"], "stored")
        assert (row.attempts, row.error_code) == (3, None)
        assert len(wa.product_messages("Sepatu Lari")) == 1
        assert "130429" in wa.stack.logs() and "retry in" in wa.stack.logs()


def test_worker_killed_mid_broadcast_every_subscriber_gets_it_exactly_once(
    tmp_path: Path, kliqs_server: ProcessServer, backend: dict[str, str | None]
) -> None:
    phones = [f"62818000{n:05d}" for n in range(24)]
    # 4 messages a second: the broadcast takes seconds, long enough to kill it in the middle.
    slow = {"WHATSAPP_MPS": "4"}
    with wa_stack(tmp_path, kliqs_server, **slow, **backend) as wa:  # type: ignore[arg-type]
        _subscribe(wa, phones)
        wa.publish("Tas Rotan")
        wa.wait_for(lambda: len(wa.product_messages("Tas Rotan")) >= 6, "the broadcast under way")
        # The worst moment: Meta accepted the next message, the worker has not heard back yet.
        wa.graph_proxy.hold_after_forward(prefix="/v23.0/")
        assert wa.graph_proxy.held.wait(20), wa.stack.logs()

        wa.stack.kill(wa.stack.processes[0])  # SIGKILL to the worker and its pool processes
        wa.graph_proxy.release()
        time.sleep(0.3)  # a request already on the wire still lands
        assert len(wa.product_messages("Tas Rotan")) < len(phones), "killed too late"
        assert any(r.state == "sending" for r in wa.deliveries())  # an outcome we cannot know
        wa.report_sent()  # Meta's "sent" statuses (with our callback data) for what it accepted
        wa.stack.start_worker(concurrency=2)

        wa.wait_for(
            lambda: {m.to for m in wa.product_messages("Tas Rotan")} == set(phones),
            "every subscriber reached",
        )
        wa.wait_for(lambda: all(r.state == "sent" for r in wa.deliveries()), "all stored as sent")

        counts = Counter(m.to for m in wa.product_messages("Tas Rotan"))
        assert counts == Counter({phone: 1 for phone in phones})
        assert sorted(r.recipient for r in wa.deliveries()) == sorted(phones)
