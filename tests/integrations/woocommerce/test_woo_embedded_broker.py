"""The embedded broker the WooCommerce connector runs on (kliqs_core/connector/broker.py).

These tests live here because the pipeline benchmark and the end-to-end tests of this
integration are what the transport was changed for: no 1 s polling, a lean publish and fetch,
and no worker dying when web and worker create the message store at the same moment.
"""

from __future__ import annotations

import multiprocessing
import socket
import threading
import time
from pathlib import Path
from queue import Empty
from typing import Any

import pytest
from kombu import Connection
from kombu.transport import resolve_transport

from kliqs_core.connector import broker
from kliqs_core.connector.sweeper import prune_broker


@pytest.fixture
def url(tmp_path: Path) -> str:
    broker.use_fast_sqla_transport()
    return f"sqla+sqlite:///{tmp_path / 'broker.sqlite'}"


def test_sqla_urls_select_the_fast_transport(url: str) -> None:
    assert resolve_transport("sqla") is broker.Transport
    with Connection(url) as conn:
        assert isinstance(conn.transport, broker.Transport)


def test_messages_come_out_once_in_order_and_delivered_ones_are_pruned(url: str) -> None:
    with Connection(url) as conn:
        channel = conn.default_channel
        for number in range(3):
            channel._put("kliqs-q", {"n": number})
        assert [channel._get("kliqs-q")["n"] for _ in range(3)] == [0, 1, 2]
        with pytest.raises(Empty):
            channel._get("kliqs-q")
    assert prune_broker(url) == 3  # fetched rows were marked invisible, not deleted


def test_a_simple_queue_round_trip_with_ack(url: str) -> None:
    with Connection(url) as conn:
        queue = conn.SimpleQueue("kliqs-simple")
        queue.put({"product": 7})
        message = queue.get(timeout=2)
        assert message.payload == {"product": 7}
        message.ack()
        queue.close()


def test_a_waiting_consumer_picks_a_message_up_well_within_kombus_second(url: str) -> None:
    with Connection(url) as consumer_conn, Connection(url) as producer_conn:
        received: list[float] = []
        queue = consumer_conn.SimpleQueue("kliqs-wait")

        def publish_later() -> None:
            time.sleep(0.6)  # long enough for the poll to back off to its ceiling
            producer_conn.SimpleQueue("kliqs-wait").put({"at": time.monotonic()})

        threading.Thread(target=publish_later).start()
        message = queue.get(timeout=10)
        received.append(time.monotonic() - message.payload["at"])
        message.ack()
        queue.close()
    # kombu's transport sleeps a full second between empty polls; this one at most 0.25 s.
    assert received[0] < broker.Transport.polling_interval + 0.2


def test_drain_events_times_out_instead_of_sleeping_forever(url: str) -> None:
    with Connection(url) as conn:
        conn.SimpleQueue("kliqs-idle")  # declares the queue the cycle polls
        conn.default_channel.basic_consume("kliqs-idle", False, lambda _m: None, "tag-1")
        started = time.monotonic()
        with pytest.raises(socket.timeout):
            conn.drain_events(timeout=0.5)
        assert time.monotonic() - started < 2


def _create_queue(url: str, start: Any, out: Any) -> None:
    broker.use_fast_sqla_transport()
    with Connection(url) as conn:
        channel = conn.channel()
        start.wait()
        try:
            channel._put("kliqs-race", {"ok": True})
            out.put("ok")
        except Exception as exc:  # reported to the test, which fails on it
            out.put(f"{type(exc).__name__}: {exc}")


@pytest.mark.slow
def test_processes_creating_a_fresh_store_together_all_succeed(tmp_path: Path) -> None:
    context = multiprocessing.get_context("fork")
    for round_number in range(4):
        url = f"sqla+sqlite:///{tmp_path / f'race-{round_number}.sqlite'}"
        start, out = context.Barrier(3), context.Queue()
        workers = [context.Process(target=_create_queue, args=(url, start, out)) for _ in range(3)]
        for worker in workers:
            worker.start()
        for worker in workers:
            worker.join(30)
        assert sorted(out.get(timeout=5) for _ in workers) == ["ok", "ok", "ok"]
        with Connection(url) as conn:
            assert sum(1 for _ in range(3) if conn.default_channel._get("kliqs-race")) == 3
