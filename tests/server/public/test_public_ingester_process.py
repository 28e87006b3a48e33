"""``kliqs serve`` and its click ingester child: a killed ingester is started again and
stores every click once; clicks spooled before a hard kill of everything are stored at the
next start; a Ctrl-C reaching every process of the server stores them all."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

from kliqs_testing.databases import Database, make_database
from kliqs_testing.servers import ProcessServer, free_port
from public_support import (
    alive,
    child_pids,
    click_many,
    counter,
    create_link,
    ingester_pid,
    spooled_visits,
    stored_clicks,
    wait_for_clicks,
)
from server.public.spool import SUFFIX

CLICKS = 200
FAST = {"KLIQS_CLICK_FLUSH_INTERVAL": "0.05"}
SLOW_FLUSH = {"KLIQS_CLICK_FLUSH_INTERVAL": "600"}


def _wait_exit(server: ProcessServer, timeout: float = 30) -> int:
    assert server.proc is not None
    try:
        return server.proc.wait(timeout)
    except subprocess.TimeoutExpired:
        server.stop(signal.SIGKILL)
        raise AssertionError(f"the server did not stop: {server.log()}") from None


def _wait_dead(pid: int, timeout: float = 10) -> None:
    deadline = time.monotonic() + timeout
    while alive(pid):
        assert time.monotonic() < deadline, f"process {pid} still runs"
        time.sleep(0.02)


def _new_ingester(server_pid: int, old: int, timeout: float = 15) -> int:
    deadline = time.monotonic() + timeout
    while True:
        try:
            pid = ingester_pid(server_pid)
        except AssertionError:
            pid = old  # between the old one's death and the new one's start
        if pid != old:
            return pid
        assert time.monotonic() < deadline, "the click ingester was not started again"
        time.sleep(0.05)


def _server_with_link(tmp_path: Path, env: dict[str, str]
                      ) -> tuple[Database, ProcessServer, dict[str, Any]]:
    """A `kliqs serve` on a fresh SQLite database, and one link of a new account."""
    database = make_database("sqlite", tmp_path)
    server = ProcessServer(database, tmp_path, env=dict(env)).start()
    try:
        account = server.new_account("pro")
        with server.client() as http:
            link = create_link(http, account)
    except BaseException:
        server.stop(signal.SIGKILL)
        raise
    return database, server, link


def test_a_killed_ingester_is_started_again_and_stores_every_click_once(tmp_path: Path
                                                                        ) -> None:
    _database, server, link = _server_with_link(tmp_path, FAST)
    assert server.proc is not None
    try:
        code, link_id = link["short_code"], link["id"]
        click_many(server.url, code, CLICKS // 2)
        ingester = ingester_pid(server.proc.pid)
        os.kill(ingester, signal.SIGKILL)  # whatever it was doing: mid-batch or idle
        _wait_dead(ingester)
        click_many(server.url, code, CLICKS // 2)  # spooled while no ingester runs
        assert _new_ingester(server.proc.pid, ingester) != ingester
        assert wait_for_clicks(server.engine, link_id, CLICKS, timeout=15) == CLICKS
    finally:
        server.stop(signal.SIGTERM)
    assert "Application shutdown complete" in server.log()
    assert "the click ingester exited" in server.log()
    assert (stored_clicks(server.engine, link_id), counter(server.engine, link_id)) == (
        CLICKS, CLICKS)
    server.close_engine()


def test_clicks_spooled_before_a_hard_kill_are_stored_once_at_the_next_start(
    tmp_path: Path
) -> None:
    spool = tmp_path / "click-spool"
    database, server, link = _server_with_link(tmp_path, FAST)
    assert server.proc is not None
    try:
        code, link_id = link["short_code"], link["id"]
        click_many(server.url, code, CLICKS)
        deadline = time.monotonic() + 10  # every click spooled (the pump runs each 0.05 s)
        while (stored_clicks(server.engine, link_id) + spooled_visits(spool, server.engine)
               < CLICKS):
            assert time.monotonic() < deadline, "clicks were not spooled"
            time.sleep(0.02)
        ingester = ingester_pid(server.proc.pid)
        os.kill(ingester, signal.SIGKILL)  # then the server, before it restarts the ingester
        server.stop(signal.SIGKILL)
        _wait_dead(ingester)
    finally:
        server.stop(signal.SIGKILL)
    stored_before = stored_clicks(server.engine, link_id)
    waiting = spooled_visits(spool, server.engine)
    server.close_engine()
    assert stored_before + waiting == CLICKS  # none lost, none twice

    again = ProcessServer(database, tmp_path, env=dict(FAST)).start()
    try:
        assert wait_for_clicks(again.engine, link_id, CLICKS, timeout=15) == CLICKS
        deadline = time.monotonic() + 10
        while any(spool.glob(f"*{SUFFIX}")) and time.monotonic() < deadline:
            time.sleep(0.02)  # the file is removed just after its commit
        assert not any(spool.glob(f"*{SUFFIX}"))
        assert stored_clicks(again.engine, link_id) == CLICKS
        assert counter(again.engine, link_id) == CLICKS
    finally:
        again.stop(signal.SIGTERM)
    assert "Application shutdown complete" in again.log()
    final = ProcessServer(database, tmp_path)
    assert (stored_clicks(final.engine, link_id), counter(final.engine, link_id)) == (
        CLICKS, CLICKS)
    final.close_engine()


def test_sigint_to_every_process_of_the_server_stores_exactly_n(tmp_path: Path) -> None:
    # Ctrl-C in a terminal signals the whole process group: `kliqs serve` and its ingester
    # (and, with one worker, nothing else). ProcessServer starts the server in the test's
    # own process group, so os.killpg would hit pytest too: each process of the server's
    # tree gets the SIGINT instead, the ingester first (the worst order for it).
    _database, server, link = _server_with_link(tmp_path, SLOW_FLUSH)
    assert server.proc is not None
    try:
        click_many(server.url, link["short_code"], CLICKS)
        assert stored_clicks(server.engine, link["id"]) == 0  # all still in the worker
        server.close_engine()
        ingester = ingester_pid(server.proc.pid)
        group = [*child_pids(server.proc.pid), server.proc.pid]
        assert group[0] == ingester and len(group) == 2, group
        for pid in group:
            os.kill(pid, signal.SIGINT)
        _wait_exit(server)
    finally:
        server.stop(signal.SIGTERM)
    assert "Application shutdown complete" in server.log()
    assert not alive(ingester)
    # Stored before the server exited: nothing waits for a next start.
    assert not any((tmp_path / "click-spool").glob(f"*{SUFFIX}"))
    assert stored_clicks(server.engine, link["id"]) == CLICKS
    assert counter(server.engine, link["id"]) == CLICKS
    server.close_engine()


def test_a_stop_signal_while_the_server_starts_still_stops_it(tmp_path: Path) -> None:
    # The serving process holds SIGTERM while its ingester stores the last clicks. A SIGTERM
    # that lands after that hold is in place but before uvicorn handles signals itself (the
    # ingester just started, uvicorn still importing) must still stop everything.
    env = {**os.environ, "KLIQS_DATA_DIR": str(tmp_path), "KLIQS_LOG_LEVEL": "warning"}
    env.pop("KLIQS_DATABASE_URL", None)
    server = subprocess.Popen(
        [sys.executable, "-m", "server.worker", "--port", str(free_port())], env=env,
        stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
    )
    deadline = time.monotonic() + 20
    while not (children := child_pids(server.pid)):  # the ingester: the hold is in place
        assert time.monotonic() < deadline and server.poll() is None, "no ingester started"
        time.sleep(0.005)
    server.send_signal(signal.SIGTERM)
    try:
        server.wait(20)
    except subprocess.TimeoutExpired:
        server.kill()
        raise AssertionError("a SIGTERM during start-up was swallowed") from None
    for pid in children:
        _wait_dead(pid)
