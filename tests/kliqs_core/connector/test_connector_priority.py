"""A worker's lower CPU priority: its own nice, and its session's autogroup when it leads one."""

from __future__ import annotations

import os
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


# The slice a child ends with ("se.slice" in /proc: Linux 6.6 and later), and its nice.
SLICE_CHILD = """
import os, sys
from pathlib import Path
from kliqs_core.connector.priority import lower_cpu_priority
lower_cpu_priority(int(sys.argv[1]), autogroup=Path(sys.argv[2]))
lines = [line for line in open("/proc/self/sched") if line.startswith("se.slice")]
print(int(lines[0].split(":")[1]) if lines else -1, os.nice(0))
"""


def _slice_after(levels: int, autogroup: Path) -> tuple[int, int]:
    done = subprocess.run([sys.executable, "-c", SLICE_CHILD, str(levels), str(autogroup)],
                          capture_output=True, text=True, check=True)  # fmt: skip
    slice_ns, nice = done.stdout.split()
    return int(slice_ns), int(nice)


def _custom_slices() -> bool:
    """Linux 6.12 added slices chosen by the process (`sched_setattr`)."""
    major, minor = (int(part) for part in os.uname().release.split(".")[:2])
    return (major, minor) >= (6, 12) and os.uname().machine in ("x86_64", "aarch64")


@pytest.mark.skipif(not _custom_slices(), reason="the kernel has no slices of the process' choice")
def test_a_lowered_process_runs_in_short_slices_at_its_lower_nice(autogroup: Path) -> None:
    default_slice, _ = _slice_after(0, autogroup)
    assert _slice_after(10, autogroup) == (100_000, 10)  # 0.1 ms, and nice stays lowered
    assert default_slice > 100_000


def test_elsewhere_than_linux_on_a_known_cpu_the_slice_is_left_alone(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    from kliqs_core.connector import priority

    monkeypatch.delattr(os, "sched_getscheduler")  # as on macOS
    assert priority.shorten_cpu_slice(100) is False
    monkeypatch.undo()
    monkeypatch.setattr(priority, "_SCHED_SETATTR", {})  # a CPU whose syscall number we lack
    assert priority.shorten_cpu_slice(100) is False
