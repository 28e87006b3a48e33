"""The committed fixtures are still what the server answers: re-record them and compare.

Everything is re-recorded once per run into a temporary folder, against a live server that
the recorder starts itself (``sdk_recording.record_all``). Each committed recording must then
match its fresh copy in request line, status, content type, error code, the headers that
matter and the shape of the body. Ids, generated codes, request ids and times are ignored.
When this fails, the server changed: run ``scripts/record-sdk-fixtures`` and review the diff.
"""

from __future__ import annotations

import time
from pathlib import Path

import pytest
import yaml
from sdk_recorder import BASE_URL
from sdk_recording import FIXTURES, record_all, summary
from sdk_scenarios import HANDWRITTEN, SCENARIOS

RECORDED = sorted(SCENARIOS)
RE_RECORD = "the server's answers changed: re-record with scripts/record-sdk-fixtures"


def _committed() -> dict[str, Path]:
    return {
        path.relative_to(FIXTURES).with_suffix("").as_posix(): path
        for path in sorted(FIXTURES.rglob("*.yaml"))
    }


@pytest.fixture(scope="module")
def rerecorded(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, float]:
    """A fresh recording of every scenario, and how long it took."""
    dest = tmp_path_factory.mktemp("rerecorded")
    started = time.monotonic()
    record_all(dest)
    return dest, time.monotonic() - started


@pytest.mark.parametrize("name", RECORDED)
def test_the_committed_recording_matches_what_the_server_answers_now(
    name: str, rerecorded: tuple[Path, float]
) -> None:
    fresh = rerecorded[0] / f"{name}.yaml"

    assert summary(FIXTURES / f"{name}.yaml") == summary(fresh), RE_RECORD


def test_re_recording_everything_takes_less_than_30_seconds(
    rerecorded: tuple[Path, float],
) -> None:
    assert rerecorded[1] < 30


def test_re_recording_is_reproducible_to_the_byte_for_one_scenario(
    rerecorded: tuple[Path, float],
) -> None:
    # Pinned clock and placeholders: only a change on the server changes a file.
    fresh = (rerecorded[0] / "list_links.yaml").read_text(encoding="utf-8")

    assert (FIXTURES / "list_links.yaml").read_text(encoding="utf-8") == fresh, RE_RECORD


def test_every_fixture_is_recorded_or_declared_handwritten() -> None:
    committed = _committed()
    recorded = {n for n, p in committed.items() if p.read_text().startswith("# RECORDED")}
    handwritten = {n for n, p in committed.items() if p.read_text().startswith("# HANDWRITTEN:")}

    assert recorded == set(RECORDED)
    assert handwritten == set(HANDWRITTEN)
    assert set(committed) == recorded | handwritten


def test_the_handwritten_error_is_only_internal_error() -> None:
    handwritten_errors = {name for name in HANDWRITTEN if name.startswith("errors/")}

    assert handwritten_errors == {"errors/INTERNAL_ERROR"}


def test_no_fixture_contains_an_api_key() -> None:
    leaking = [name for name, path in _committed().items() if "kliqs_sk_live_" in path.read_text()]

    assert leaking == []


def test_every_fixture_talks_to_the_test_base_url_only() -> None:
    for name, path in _committed().items():
        document = yaml.safe_load(path.read_text(encoding="utf-8"))
        for item in document["responses"]:
            response = item["response"]
            assert response["url"].startswith(f"{BASE_URL}/api/v1/"), name
            assert "127.0.0.1" not in response.get("body", ""), name


def test_the_drift_summary_sees_a_changed_status_code_and_shape(tmp_path: Path) -> None:
    original = FIXTURES / "errors/SLUG_ALREADY_EXISTS.yaml"
    changed = tmp_path / "changed.yaml"
    text = original.read_text(encoding="utf-8")
    changed.write_text(text.replace("status: 409", "status: 400"), encoding="utf-8")
    reshaped = tmp_path / "reshaped.yaml"
    reshaped.write_text(text.replace('"request_id":', '"requestId":'), encoding="utf-8")
    renumbered = tmp_path / "renumbered.yaml"
    renumbered.write_text(text.replace("req_0001", "req_0042"), encoding="utf-8")

    assert summary(changed) != summary(original)
    assert summary(reshaped) != summary(original)
    assert summary(renumbered) == summary(original)  # request ids are ignored
