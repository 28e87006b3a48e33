"""``kliqs shorten``: one URL to stdout, or a CSV file shortened resumably."""

from __future__ import annotations

import csv
import json
from collections.abc import Callable
from pathlib import Path

import pytest
import responses
import typer
from sdk_scenarios import CLI_ROWS
from typer.testing import CliRunner, Result

from kliqs_core.cli import shorten

Load = Callable[[str], None]  # the conftest's `load` fixture

ENV = {"KLIQS_API_KEY": "kliqs_sk_live_cli", "KLIQS_API_URL": "http://kliqs.test"}
# The rows the cli_* fixtures were recorded with; the third has no slug, so the server made
# its code (normalised to gen0001 in the recordings).
ROWS = [dict(row) for row in CLI_ROWS]
SHORT_URLS = [
    "http://kliqs.test/sepatu-lari",
    "http://kliqs.test/tas-kulit",
    "http://kliqs.test/gen0001",
]


def _app() -> typer.Typer:
    app = typer.Typer()
    app.command("shorten")(shorten)

    @app.callback()
    def root() -> None:
        """Keep ``shorten`` a subcommand, as on the real root app."""

    return app


def _run(*args: str, env: dict[str, str] | None = None) -> Result:
    return CliRunner().invoke(_app(), ["shorten", *args], env=ENV if env is None else env)


def _write_csv(path: Path, rows: list[dict[str, str]], delimiter: str = ",") -> Path:
    with path.open("w", encoding="utf-8", newline="") as handle:
        writer = csv.DictWriter(handle, fieldnames=list(rows[0]), delimiter=delimiter)
        writer.writeheader()
        writer.writerows(rows)
    return path


def _read_csv(path: Path, delimiter: str = ",") -> list[dict[str, str]]:
    with path.open(encoding="utf-8", newline="") as handle:
        return list(csv.DictReader(handle, delimiter=delimiter))


def _posted(api: responses.RequestsMock) -> list[tuple[str, str]]:
    out = []
    for call in api.calls:
        assert call.request.body is not None
        out.append((json.loads(call.request.body)["url"], call.request.headers["Idempotency-Key"]))
    return out


def test_a_single_url_prints_only_the_short_url(
    api: responses.RequestsMock, load: Load
) -> None:
    load("create_link")

    result = _run("https://marketku.id/products/1", "--slug", "vps-murah", "--title", "VPS Murah")

    assert result.exit_code == 0, result.output
    assert result.stdout == "http://kliqs.test/vps-murah\n"
    assert api.calls[0].request.headers["Authorization"] == "Bearer kliqs_sk_live_cli"
    body = api.calls[0].request.body
    assert body is not None
    assert json.loads(body) == {
        "url": "https://marketku.id/products/1",
        "slug": "vps-murah",
        "title": "VPS Murah",
    }


def test_an_api_error_prints_code_and_message_to_stderr(load: Load) -> None:
    load("errors/SLUG_ALREADY_EXISTS")

    result = _run("https://marketku.id/products/1", "--slug", "vps-murah")

    assert result.exit_code == 1
    assert result.stdout == ""
    assert result.stderr.startswith("error SLUG_ALREADY_EXISTS: Slug sudah dipakai.")


def test_a_single_url_over_the_monthly_limit_exits_3_with_the_reset(load: Load) -> None:
    load("errors/API_LIMIT_REACHED")

    result = _run("https://marketku.id/products/1")

    assert result.exit_code == 3
    assert "error API_LIMIT_REACHED:" in result.stderr
    assert "resets at 2026-12-01 00:00 UTC" in result.stderr


def test_a_missing_key_is_a_clear_error() -> None:
    result = _run("https://marketku.id/products/1", env={"KLIQS_API_KEY": ""})

    assert result.exit_code == 1
    assert result.stderr.startswith("error CONFIGURATION_ERROR:")
    assert "KLIQS_API_KEY" in result.stderr


@pytest.mark.parametrize(
    "args",
    [
        [],
        ["https://x.id", "--file", "{csv}"],
        ["--file", "{csv}", "--slug", "x"],
        ["https://x.id", "--output", "out.csv"],
    ],
    ids=["nothing", "both", "slug-with-file", "output-without-file"],
)
def test_bad_usage_exits_2(args: list[str], tmp_path: Path) -> None:
    csv_path = _write_csv(tmp_path / "urls.csv", ROWS)

    result = _run(*[a.replace("{csv}", str(csv_path)) for a in args])

    assert result.exit_code == 2


def test_file_mode_shortens_every_row_and_keeps_the_input_columns(
    tmp_path: Path, api: responses.RequestsMock, load: Load
) -> None:
    load("cli_batch")
    source = _write_csv(tmp_path / "urls.csv", ROWS)

    result = _run("--file", str(source))

    assert result.exit_code == 0, result.output
    out = _read_csv(tmp_path / "urls.results.csv")
    assert [row["sku"] for row in out] == ["S-3", "T-4", "K-5"]
    assert [row["short_url"] for row in out] == SHORT_URLS
    assert all(row["error"] == "" for row in out)
    assert "3 shortened, 0 already done, 0 failed, 0 left" in result.stderr
    keys = [key for _, key in _posted(api)]
    assert len(set(keys)) == 3 and all(key.startswith("kliqs-csv-") for key in keys)
    assert not (tmp_path / "urls.results.csv.partial").exists()


def test_row_keys_come_from_the_row_content_so_a_rerun_sends_the_same_keys(
    tmp_path: Path, api: responses.RequestsMock, load: Load
) -> None:
    source = _write_csv(tmp_path / "urls.csv", ROWS)
    load("cli_batch")
    _run("--file", str(source), "--output", str(tmp_path / "first.csv"))
    load("cli_batch")

    _run("--file", str(source), "--output", str(tmp_path / "second.csv"))

    keys = [key for _, key in _posted(api)]
    assert keys[:3] == keys[3:]


def test_file_mode_resumes_skipping_rows_already_shortened(
    tmp_path: Path, api: responses.RequestsMock, load: Load
) -> None:
    source = _write_csv(tmp_path / "urls.csv", ROWS)
    output = tmp_path / "results.csv"
    done = {**ROWS[0], "short_url": "http://kliqs.test/sepatu-lari", "error": ""}
    failed = {**ROWS[1], "short_url": "", "error": "INTERNAL_ERROR: boom"}
    _write_csv(output, [done, failed])
    load("cli_resume")

    result = _run("--file", str(source), "--output", str(output))

    assert result.exit_code == 0, result.output
    assert [url for url, _ in _posted(api)] == [ROWS[1]["url"], ROWS[2]["url"]]
    assert [row["short_url"] for row in _read_csv(output)] == SHORT_URLS
    assert "2 shortened, 1 already done" in result.stderr


def test_the_monthly_limit_stops_cleanly_and_a_rerun_resumes(
    tmp_path: Path, api: responses.RequestsMock, load: Load
) -> None:
    source = _write_csv(tmp_path / "urls.csv", ROWS)
    output = tmp_path / "results.csv"
    load("cli_quota")

    stopped = _run("--file", str(source), "--output", str(output))

    assert stopped.exit_code == 3
    assert "error API_LIMIT_REACHED:" in stopped.stderr
    assert "The quota resets at 2026-12-01 00:00 UTC." in stopped.stderr
    assert "Run the same command again to resume" in stopped.stderr
    rows = _read_csv(output)
    assert [row["short_url"] for row in rows] == ["http://kliqs.test/sepatu-lari", "", ""]
    assert rows[1]["error"].startswith("API_LIMIT_REACHED:")
    assert len(api.calls) == 2  # the third row was never sent

    load("cli_resume")
    resumed = _run("--file", str(source), "--output", str(output))

    assert resumed.exit_code == 0, resumed.output
    posted = _posted(api)
    assert [url for url, _ in posted[2:]] == [ROWS[1]["url"], ROWS[2]["url"]]
    assert posted[1][1] == posted[2][1]  # row 2 kept its idempotency key across runs
    assert [row["short_url"] for row in _read_csv(output)] == SHORT_URLS


def test_a_failing_row_is_recorded_and_the_rest_continue(
    tmp_path: Path, load: Load
) -> None:
    source = _write_csv(tmp_path / "urls.csv", ROWS)
    load("cli_row_error")

    result = _run("--file", str(source))

    assert result.exit_code == 1
    rows = _read_csv(tmp_path / "urls.results.csv")
    assert rows[1]["error"] == "SLUG_ALREADY_EXISTS: Slug sudah dipakai."
    assert rows[2]["short_url"] == SHORT_URLS[2]
    assert "2 shortened, 0 already done, 1 failed" in result.stderr


def test_a_semicolon_csv_with_a_bom_is_read_and_written_back_alike(
    tmp_path: Path, load: Load
) -> None:
    source = tmp_path / "excel.csv"
    content = "\ufeffurl;title\nhttps://marketku.id/products/1;VPS Murah\n"
    source.write_text(content, encoding="utf-8")
    load("create_link")

    result = _run("--file", str(source))

    assert result.exit_code == 0, result.output
    rows = _read_csv(tmp_path / "excel.results.csv", delimiter=";")
    assert rows == [
        {"url": "https://marketku.id/products/1", "title": "VPS Murah",
         "short_url": "http://kliqs.test/vps-murah", "error": ""}
    ]


def test_a_csv_without_a_url_column_is_refused(tmp_path: Path) -> None:
    source = _write_csv(tmp_path / "bad.csv", [{"link": "https://marketku.id/products/1"}])

    result = _run("--file", str(source))

    assert result.exit_code == 1
    assert result.stderr.startswith("error INVALID_CSV:")
    assert not (tmp_path / "bad.results.csv").exists()
