"""Fixtures of the SDK tests: a mocked API at http://kliqs.test and a client with pinned waits.

Canned responses live in ``fixtures/*.yaml`` in the ``responses`` recorder schema. Most are
recordings of the real server (``scripts/record-sdk-fixtures``, scenarios in
``sdk_scenarios.py``; ``test_sdk_fixture_drift.py`` fails when they no longer match it); the
few the server cannot produce are handwritten and listed in ``fixtures/README.md``.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
import responses

from kliqs_core import KliqsClient, RetryPolicy

BASE_URL = "http://kliqs.test"
API_KEY = "kliqs_sk_live_TESTtestTESTtestTESTtestTESTx9Qz"
FIXTURES = Path(__file__).parent / "fixtures"


class PinnedJitter(RetryPolicy):
    """No randomness: every backoff is exactly its exponential step."""

    def jitter(self, delay: float) -> float:
        return delay


@pytest.fixture
def api() -> Iterator[responses.RequestsMock]:
    """The mocked API; a test fails if a registered response was never requested."""
    with responses.RequestsMock(assert_all_requests_are_fired=True) as mock:
        yield mock


@pytest.fixture
def load(api: responses.RequestsMock) -> Callable[[str], None]:
    """Register the canned responses of ``fixtures/<name>.yaml``, in order."""

    def _load(name: str) -> None:
        api._add_from_file(FIXTURES / f"{name}.yaml")

    return _load


@pytest.fixture
def sleeps() -> list[float]:
    """Every wait the client asked for, in seconds (nothing really sleeps)."""
    return []


@pytest.fixture
def client(sleeps: list[float]) -> Iterator[KliqsClient]:
    """A client of the mocked API with pinned jitter and a recording fake sleep."""
    with KliqsClient(
        API_KEY, base_url=BASE_URL, retry_policy=PinnedJitter(sleep=sleeps.append)
    ) as kliqs:
        yield kliqs
