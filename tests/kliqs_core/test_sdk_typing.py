"""The SDK type-checks under ``mypy --strict`` (its users' type checkers read ``py.typed``)."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

import kliqs_core

REPO = Path(kliqs_core.__file__).resolve().parent.parent


@pytest.mark.slow
def test_kliqs_core_passes_mypy_strict() -> None:
    command = [sys.executable, "-m", "mypy", "--strict", "kliqs_core"]  # the connector too

    result = subprocess.run(command, cwd=REPO, capture_output=True, text=True, timeout=240)

    assert result.returncode == 0, result.stdout + result.stderr
    assert result.stdout.startswith("Success: no issues found")
