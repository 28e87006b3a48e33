"""A worker's lower CPU priority: its own nice, and its session's autogroup when it leads one."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

# Runs in a child so that this test process keeps its priority; prints the child's nice.
CHILD = """
import os, sys
from pathlib import Path
from kliqs_core.connector.priority import lower_cpu_priority
lower_cpu_priority(int(sys.argv[1]), autogroup=Path(sys.argv[2]))
print(os.nice(0))
"""


def _lowered(levels: int, autogroup: Path, *, own_session: bool) -> int:
    done = subprocess.run(
        [sys.executable, "-c", CHILD, str(levels), str(autogroup)],
        capture_output=True, text=True, check=True, start_new_session=own_session,
    )  # fmt: skip
    return int(done.stdout)


@pytest.fixture
def autogroup(tmp_path: Path) -> Path:
    path = tmp_path / "autogroup"
    path.write_text("/autogroup-4242 nice 3\n")
    return path


def test_a_session_leader_lowers_itself_and_its_autogroup(autogroup: Path) -> None:
    assert _lowered(10, autogroup, own_session=True) == 10
    assert autogroup.read_text() == "13"


def test_the_autogroup_nice_stops_at_19(autogroup: Path) -> None:
    autogroup.write_text("/autogroup-4242 nice 15\n")
    _lowered(10, autogroup, own_session=True)
    assert autogroup.read_text() == "19"


def test_in_someone_elses_session_only_the_process_is_lowered(autogroup: Path) -> None:
    # The session's leader is a shell or `kliqs up`: lowering the autogroup would lower them.
    assert _lowered(10, autogroup, own_session=False) == 10
    assert autogroup.read_text() == "/autogroup-4242 nice 3\n"


def test_zero_levels_changes_nothing(autogroup: Path) -> None:
    assert _lowered(0, autogroup, own_session=True) == 0
    assert autogroup.read_text() == "/autogroup-4242 nice 3\n"


def test_a_kernel_without_autogroups_is_no_error(tmp_path: Path) -> None:
    assert _lowered(5, tmp_path / "missing", own_session=True) == 5
    assert not (tmp_path / "missing").exists()
