"""The web process' task sender: one producer kept between sends, a fresh one after a failure."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from kombu.simple import SimpleQueue

from kliqs_core.connector import runtime
from kliqs_core.connector.celery_app import celery_app, close_broker_connections, configure_celery
from kliqs_core.connector.settings import ConnectorSettings


@pytest.fixture
def settings(tmp_path: Path) -> Iterator[ConnectorSettings]:
    """The embedded broker in a fresh data folder, configured for this process."""
    settings = ConnectorSettings(data_dir=tmp_path, connector_queue="kliqs-sender-test")
    runtime.reset()
    runtime.set_settings(settings)
    runtime.start_up()
    configure_celery(settings)
    yield settings
    runtime.reset()
    close_broker_connections()


def queued(settings: ConnectorSettings) -> list[tuple[str, Any]]:
    """(task name, its arguments) of every message waiting in the queue, oldest first."""
    found = []
    with celery_app.connection_for_read() as connection:
        queue = SimpleQueue(connection, settings.connector_queue)
        while queue.qsize():
            message = queue.get(timeout=5)
            found.append((message.headers["task"], message.payload[0]))
            message.ack()
        queue.close()
    return found


class CountingPool:
    """Celery's producer pool, counting the producers taken from it."""

    def __init__(self, monkeypatch: pytest.MonkeyPatch) -> None:
        self.taken: list[Any] = []
        pool = celery_app.producer_pool
        acquire = pool.acquire

        def counted(**options: Any) -> Any:
            self.taken.append(acquire(**options))
            return self.taken[-1]

        monkeypatch.setattr(pool, "acquire", counted)


def test_sends_each_batch_as_one_task_over_one_producer(
    settings: ConnectorSettings, monkeypatch: pytest.MonkeyPatch
) -> None:
    pool = CountingPool(monkeypatch)
    sender = runtime._TaskSender()

    sender([7])
    sender([8, 9, 10])

    assert len(pool.taken) == 1
    assert queued(settings) == [
        ("kliqs.connector.process_product", [7]),
        ("kliqs.connector.process_products", [[8, 9, 10]]),
    ]


def test_a_failed_send_gives_the_producer_back_and_the_next_takes_a_new_one(
    settings: ConnectorSettings, monkeypatch: pytest.MonkeyPatch
) -> None:
    pool = CountingPool(monkeypatch)
    sender = runtime._TaskSender()
    sender([1])
    producer = pool.taken[0]
    publish, failures = producer.publish, [ConnectionError("broker gone")]

    def broker_gone_once(*args: Any, **kwargs: Any) -> Any:
        if failures:
            raise failures.pop()
        return publish(*args, **kwargs)

    monkeypatch.setattr(producer, "publish", broker_gone_once)
    with pytest.raises(ConnectionError):
        sender([2, 3])
    sender([4, 5])

    assert len(pool.taken) == 2  # given back after the failure, taken again
    assert queued(settings) == [
        ("kliqs.connector.process_product", [1]),
        ("kliqs.connector.process_products", [[4, 5]]),
    ]


def test_a_reconfigured_broker_gets_a_producer_of_its_own(
    settings: ConnectorSettings, tmp_path: Path
) -> None:
    sender = runtime._TaskSender()
    sender([1])
    other = settings.model_copy(update={"data_dir": tmp_path / "other"})
    other.data_dir.mkdir()
    configure_celery(other)

    sender([2])

    assert queued(other) == [("kliqs.connector.process_product", [2])]
    configure_celery(settings)
    assert queued(settings) == [("kliqs.connector.process_product", [1])]
