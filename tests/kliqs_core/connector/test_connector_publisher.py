"""The web process' publisher thread: ids published in order, none lost or doubled."""

from __future__ import annotations

import logging
import threading

import pytest

from kliqs_core.connector.publisher import Publisher


class Recorder:
    """A ``publish`` that records each id and its thread; it can be held, or fail once."""

    def __init__(self) -> None:
        self.sent: list[int] = []
        self.threads: set[str] = set()
        self.gate = threading.Event()
        self.gate.set()
        self.fail_next = False
        self.changed = threading.Condition()

    def __call__(self, product_pk: int) -> None:
        self.gate.wait(10)
        if self.fail_next:
            self.fail_next = False
            raise ConnectionError("broker down")
        with self.changed:
            self.sent.append(product_pk)
            self.threads.add(threading.current_thread().name)
            self.changed.notify_all()

    def wait_for(self, count: int) -> None:
        with self.changed:
            assert self.changed.wait_for(lambda: len(self.sent) >= count, 10)


def test_ids_go_out_in_order_from_the_publisher_thread_not_the_callers() -> None:
    publish = Recorder()
    publisher = Publisher(publish)
    publish.gate.clear()  # a slow broker: submit must not wait for it
    for pk in range(1, 6):
        publisher.submit(pk)
    assert publish.sent == []
    publish.gate.set()
    publish.wait_for(5)
    publisher.close()
    assert publish.sent == [1, 2, 3, 4, 5]
    assert publish.threads == {"kliqs-publisher"}


def test_a_broker_error_is_logged_and_later_ids_still_go_out(
    caplog: pytest.LogCaptureFixture,
) -> None:
    publish = Recorder()
    publish.fail_next = True
    publisher = Publisher(publish)
    with caplog.at_level(logging.WARNING, logger="kliqs_core.connector.publisher"):
        publisher.submit(1)  # not retried here: the sweeper re-queues product 1
        publisher.submit(2)
        publish.wait_for(1)
    publisher.close()
    assert publish.sent == [2]
    assert "could not queue product 1; the sweeper will" in caplog.text


def test_close_sends_what_is_still_waiting_then_later_ids_at_once() -> None:
    publish = Recorder()
    publisher = Publisher(publish)
    publish.gate.clear()
    for pk in range(1, 6):
        publisher.submit(pk)
    releaser = threading.Timer(0.2, publish.gate.set)
    releaser.start()
    publisher.close()
    releaser.join()
    assert publish.sent == [1, 2, 3, 4, 5]
    publisher.submit(6)  # answered during shutdown: published in the caller's thread
    assert publish.sent[-1] == 6
    assert threading.current_thread().name in publish.threads


def test_closing_an_unused_publisher_starts_no_thread() -> None:
    before = threading.active_count()
    Publisher(Recorder()).close()
    assert threading.active_count() == before
