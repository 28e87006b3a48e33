"""Fixtures shared by the whole suite (see ``kliqs_testing``)."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from kliqs_testing.databases import Database, make_database
from kliqs_testing.servers import ProcessServer, ThreadServer

BACKENDS = ["sqlite", pytest.param("postgres", marks=pytest.mark.postgres)]


@pytest.fixture(scope="module", params=BACKENDS)
def backend(request: pytest.FixtureRequest) -> str:
    """Each test using it runs once on SQLite and once on PostgreSQL."""
    return str(request.param)


@pytest.fixture(scope="module")
def module_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return tmp_path_factory.mktemp("kliqs")


@pytest.fixture(scope="module")
def database(backend: str, module_dir: Path) -> Iterator[Database]:
    """A fresh database of the current backend for this module."""
    db = make_database(backend, module_dir)
    yield db
    db.drop()


@pytest.fixture(scope="module")
def live_server(database: Database, module_dir: Path) -> Iterator[ProcessServer]:
    """``kliqs serve`` (one worker) over real HTTP, shared by a module's tests."""
    server = ProcessServer(database, module_dir).start()
    yield server
    server.stop()


@pytest.fixture
def thread_server(tmp_path: Path) -> Iterator[ThreadServer]:
    """The app in a thread of this process on SQLite (tests may move ``server.clock``)."""
    from server import clock

    db = make_database("sqlite", tmp_path)
    server = ThreadServer(db, tmp_path).start()
    yield server
    server.stop()
    clock.set_offset(0)
