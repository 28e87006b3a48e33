"""SQLite WAL checkpoints run in the server's checkpoint thread, not inside request commits."""

from __future__ import annotations

import time
from pathlib import Path

import pytest
from sqlalchemy import create_engine, text

from server.config import Settings
from server.db.checkpoint import FALLBACK_PAGES, Checkpointer
from server.db.engine import make_engine
from server.state import Kliqs


def _engine(tmp_path: Path, *, writer: bool = True):  # type: ignore[no-untyped-def]
    settings = Settings(data_dir=tmp_path, database_url=f"sqlite:///{tmp_path / 'k.sqlite'}")
    return make_engine(settings, writer=writer)


def _write_pages(engine, rows: int = 1000) -> None:  # type: ignore[no-untyped-def]
    with engine.begin() as conn:
        conn.execute(text("CREATE TABLE IF NOT EXISTS t (x TEXT)"))
    for _ in range(5):
        with engine.begin() as conn:
            conn.execute(text("INSERT INTO t VALUES (:x)"), [{"x": "k" * 900}] * rows)


def _sizes(path: Path) -> tuple[int, int]:
    """(database file, WAL file) in bytes: a checkpoint copies the WAL into the file."""
    return path.stat().st_size, Path(f"{path}-wal").stat().st_size


def test_writers_leave_checkpoints_to_the_thread(tmp_path: Path) -> None:
    writer, reader = _engine(tmp_path), _engine(tmp_path, writer=False)
    with writer.connect() as conn:
        assert conn.exec_driver_sql("PRAGMA wal_autocheckpoint").scalar() == FALLBACK_PAGES
    with reader.connect() as conn:
        assert conn.exec_driver_sql("PRAGMA wal_autocheckpoint").scalar() == 1000  # default

    _write_pages(writer)  # about 4.5 MB: past SQLite's default threshold of 1000 pages
    database, wal = _sizes(tmp_path / "k.sqlite")
    assert wal > 1000 * 4096 and database < 1_000_000  # no commit copied the WAL back

    checkpointer = Checkpointer(writer, interval=0.05)
    checkpointer.start()
    deadline = time.monotonic() + 10
    while checkpointer.runs == 0 and time.monotonic() < deadline:
        time.sleep(0.02)
    checkpointer.stop()
    database, _wal = _sizes(tmp_path / "k.sqlite")
    assert database > 4_000_000  # the thread copied it back
    writer.dispose()
    reader.dispose()


def test_the_server_state_runs_one_for_a_sqlite_file(tmp_path: Path) -> None:
    settings = Settings(data_dir=tmp_path, database_url=f"sqlite:///{tmp_path / 'k.sqlite'}")
    kliqs = Kliqs.build(settings)
    kliqs.start()
    assert kliqs._checkpointer is not None
    kliqs.dispose()
    assert kliqs._checkpointer is None


def test_workers_beside_a_click_ingester_leave_checkpoints_to_it(tmp_path: Path) -> None:
    # `kliqs serve` sets click_spool_dir: its ingester process checkpoints for everyone.
    settings = Settings(data_dir=tmp_path, database_url=f"sqlite:///{tmp_path / 'k.sqlite'}",
                        click_spool_dir=tmp_path / "click-spool")
    kliqs = Kliqs.build(settings)
    kliqs.start()
    assert kliqs._checkpointer is None
    kliqs.dispose()


def test_only_a_sqlite_file_has_a_wal_to_checkpoint() -> None:
    with pytest.raises(ValueError, match="SQLite file"):
        Checkpointer(create_engine("sqlite://"))
    with pytest.raises(ValueError, match="SQLite file"):
        Checkpointer(create_engine("postgresql+psycopg://u:p@127.0.0.1:1/x"))
