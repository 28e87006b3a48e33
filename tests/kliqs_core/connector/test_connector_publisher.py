"""The web process' publisher thread: ids grouped when they pile up, none lost or doubled."""

from __future__ import annotations

import logging
import threading

import pytest

from kliqs_core.connector.publisher import Publisher


class Recorder:
    """A ``publish`` that records each message; it can be held, or fail once."""

    def __init__(self) -> None:
        self.messages: list[list[int]] = []
        self.gate = threading.Event()
        self.gate.set()
        self.fail_next = False
        self.sent = threading.Condition()
        self.called = threading.Event()

    def __call__(self, batch: list[int]) -> None:
        self.called.set()
        self.gate.wait(10)
        if self.fail_next:
            self.fail_next = False
            raise ConnectionError("broker down")
        with self.sent:
            self.messages.append(list(batch))
            self.sent.notify_all()

    def wait_for(self, count: int) -> None:
        with self.sent:
            assert self.sent.wait_for(lambda: sum(map(len, self.messages)) >= count, 10)


def test_a_lone_id_goes_out_alone() -> None:
    publish = Recorder()
    publisher = Publisher(publish, linger=0.001)
    publisher.submit(7)
    publish.wait_for(1)
    publisher.close()
    assert publish.messages == [[7]]


def test_ids_that_pile_up_go_out_grouped_in_order_each_once() -> None:
    publish = Recorder()
    publisher = Publisher(publish, max_batch=4, linger=0.0)
    publish.gate.clear()  # the broker is slow: ids queue behind the first message
    publisher.submit(1)
    assert publish.called.wait(10)  # the first message is on its way
    for pk in range(2, 12):
        publisher.submit(pk)
    publish.gate.set()
    publish.wait_for(11)
    publisher.close()
    assert [pk for message in publish.messages for pk in message] == list(range(1, 12))
    assert publish.messages[0] == [1]
    assert all(len(message) <= 4 for message in publish.messages)
    assert len(publish.messages) == 4  # [1], then 10 ids in messages of at most 4


@pytest.mark.parametrize(("max_batch", "expected"), [
    (4, [[1, 2, 3]]),  # ids arriving within the linger share a message
    (1, [[1], [2], [3]]),  # KLIQS_CONNECTOR_PUBLISH_BATCH=1: none waits behind another
])
def test_ids_arriving_together_are_grouped_up_to_the_batch_size(
    max_batch: int, expected: list[list[int]]
) -> None:
    publish = Recorder()
    publisher = Publisher(publish, max_batch=max_batch, linger=0.5)
    for pk in (1, 2, 3):
        publisher.submit(pk)
    publish.wait_for(3)
    publisher.close()
    assert publish.messages == expected


def test_a_broker_error_is_logged_and_later_ids_still_go_out(
    caplog: pytest.LogCaptureFixture,
) -> None:
    publish = Recorder()
    publish.fail_next = True
    publisher = Publisher(publish, linger=0.0)
    with caplog.at_level(logging.WARNING, logger="kliqs_core.connector.publisher"):
        publisher.submit(1)
        publisher.close()  # the failed message is not retried: the sweeper takes product 1
    publisher.submit(2)
    publish.wait_for(1)
    publisher.close()
    assert publish.messages == [[2]]
    assert "could not queue products [1]; the sweeper will" in caplog.text


def test_close_sends_what_is_still_waiting() -> None:
    publish = Recorder()
    publisher = Publisher(publish, max_batch=2, linger=0.0)
    publish.gate.clear()
    for pk in range(1, 6):
        publisher.submit(pk)
    releaser = threading.Timer(0.2, publish.gate.set)
    releaser.start()
    publisher.close()
    releaser.join()
    assert sorted(pk for message in publish.messages for pk in message) == [1, 2, 3, 4, 5]
    publisher.submit(6)  # answered during shutdown: published at once, alone
    assert publish.messages[-1] == [6]


def test_submit_does_not_wait_for_the_broker() -> None:
    publish = Recorder()
    publisher = Publisher(publish, linger=0.0)
    publish.gate.clear()  # the broker hangs
    for pk in range(1, 4):
        publisher.submit(pk)
    assert publish.messages == []
    publish.gate.set()
    publish.wait_for(3)
    publisher.close()
    assert [pk for message in publish.messages for pk in message] == [1, 2, 3]


def test_closing_an_unused_publisher_starts_no_thread() -> None:
    publisher = Publisher(Recorder())
    publisher.close()
    assert publisher._thread is None


def test_bad_settings_are_refused() -> None:
    with pytest.raises(ValueError):
        Publisher(Recorder(), max_batch=0)
    with pytest.raises(ValueError):
        Publisher(Recorder(), linger=-1)
