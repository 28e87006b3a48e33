"""The connector database on SQLite: writers of different processes wait for each other."""

from __future__ import annotations

import threading
from pathlib import Path

import pytest
from sqlalchemy import text
from sqlalchemy.exc import OperationalError

from kliqs_core.connector import db as db_module
from kliqs_core.connector.db import Database


def two_processes(tmp_path: Path) -> tuple[Database, Database]:
    """Two engines on one file: two processes as far as SQLite's locks go (each Database's
    own lock only orders the threads of its process)."""
    url = f"sqlite:///{tmp_path / 'shared.db'}"
    first, second = Database(url), Database(url)
    with first.begin() as conn:
        conn.execute(text("CREATE TABLE notes (body TEXT)"))
    return first, second


def hold_write_lock(database: Database, seconds: float) -> tuple[threading.Thread, threading.Event]:
    """A thread keeping a write transaction open for ``seconds``; the event says it began."""
    began = threading.Event()

    def hold() -> None:
        with database.begin() as conn:
            conn.execute(text("INSERT INTO notes VALUES ('held')"))
            began.set()
            threading.Event().wait(seconds)

    thread = threading.Thread(target=hold)
    thread.start()
    assert began.wait(5)
    return thread, began


def test_a_writer_waits_for_another_process_write_transaction(tmp_path: Path) -> None:
    first, second = two_processes(tmp_path)
    holder, _ = hold_write_lock(first, 0.2)

    with second.begin() as conn:  # waits (busy timeout), does not fail
        conn.execute(text("INSERT INTO notes VALUES ('after')"))
    holder.join()

    with first.begin() as conn:
        assert list(conn.execute(text("SELECT body FROM notes")).scalars()) == ["held", "after"]


def test_a_write_lock_held_past_the_timeout_fails_the_waiter(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(db_module, "_BUSY_TIMEOUT_MS", 50)
    first, second = two_processes(tmp_path)
    holder, _ = hold_write_lock(first, 0.5)

    with pytest.raises(OperationalError, match="locked"), second.begin():
        pass
    holder.join()
