"""``kliqs shorten`` as users run it: the installed command in a subprocess, against the live
server over real HTTP, configured by KLIQS_API_KEY and KLIQS_API_URL only."""

from __future__ import annotations

import csv
import os
import subprocess
from collections.abc import Iterator
from pathlib import Path

import pytest
from kliqs_testing.databases import make_database
from kliqs_testing.servers import KLIQS_BIN, ApiAccount, ThreadServer

from kliqs_core import KliqsClient, Link
from server.clock import next_month_start, utcnow
from server.services.accounts import set_plan

pytestmark = pytest.mark.slow  # each `kliqs` start imports the whole project (a few seconds)



def _rows(tag: str) -> list[dict[str, str]]:
    """Four products; the first with a slug (``tag`` keeps it unique on the shared server)."""
    return [
        {"url": "https://marketku.id/products/11", "slug": f"batik-{tag}", "title": "Batik Tulis"},
        {"url": "https://marketku.id/products/12", "slug": "", "title": "Kain Songket"},
        {"url": "https://marketku.id/products/13", "slug": "", "title": "Tenun Ikat"},
        {"url": "https://marketku.id/products/14", "slug": "", "title": "Kebaya Encim"},
    ]


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[ThreadServer]:
    """One live server for the module (SQLite; the client under test is the subprocess)."""
    folder = tmp_path_factory.mktemp("cli-live")
    live = ThreadServer(make_database("sqlite", folder), folder).start()
    yield live
    live.stop()


def _shorten(server: ThreadServer, account: ApiAccount, *args: str) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "KLIQS_API_KEY": account.key, "KLIQS_API_URL": server.url}
    return subprocess.run(
        [KLIQS_BIN, "shorten", *args], env=env, capture_output=True, text=True, timeout=120
    )


def _links(server: ThreadServer, account: ApiAccount) -> list[Link]:
    with KliqsClient(account.key, base_url=server.url) as kliqs:
        return list(kliqs.list_links(limit=100))


def _write_csv(path: Path, rows: list[dict[str, str]]) -> Path:
    with path.open("w", encoding="utf-8", newline="") as handle:
        writer = csv.DictWriter(handle, fieldnames=list(rows[0]))
        writer.writeheader()
        writer.writerows(rows)
    return path


def _read_csv(path: Path) -> list[dict[str, str]]:
    with path.open(encoding="utf-8", newline="") as handle:
        return list(csv.DictReader(handle))


def test_shorten_prints_the_short_url_of_the_link_it_made(server: ThreadServer) -> None:
    account = server.new_account("starter")

    result = _shorten(server, account, "https://marketku.id/products/10", "--slug", "kopi-toraja")

    assert result.returncode == 0, result.stderr
    (link,) = _links(server, account)
    assert result.stdout == f"{link.short_url}\n"
    assert link.short_url == f"{server.url}/kopi-toraja"
    assert link.destination_url == "https://marketku.id/products/10"


def test_shorten_file_writes_every_short_url_next_to_its_row(
    server: ThreadServer, tmp_path: Path
) -> None:
    account = server.new_account("starter")
    wanted = _rows("file")[1:]
    source = _write_csv(tmp_path / "produk.csv", wanted)

    result = _shorten(server, account, "--file", str(source))

    assert result.returncode == 0, result.stderr
    assert "3 shortened, 0 already done, 0 failed, 0 left" in result.stderr
    rows = _read_csv(tmp_path / "produk.results.csv")
    made = {link.destination_url: link.short_url for link in _links(server, account)}
    assert [row["title"] for row in rows] == ["Kain Songket", "Tenun Ikat", "Kebaya Encim"]
    assert [row["short_url"] for row in rows] == [made[row["url"]] for row in wanted]
    assert all(row["error"] == "" for row in rows)


def _stopped_by_quota(
    server: ThreadServer, tmp_path: Path, rows: list[dict[str, str]]
) -> tuple[ApiAccount, Path, Path, subprocess.CompletedProcess[str]]:
    """A free account with 28 of its 30 requests used runs a 4-row file: 2 rows get through."""
    account = server.new_account("free")
    with KliqsClient(account.key, base_url=server.url) as kliqs:
        for _ in range(28):  # real requests; the SDK waits out the burst limit on its own
            kliqs.list_links_page(limit=1)
    source = _write_csv(tmp_path / "katalog.csv", rows)
    output = tmp_path / "hasil.csv"
    return account, source, output, _shorten(server, account, "-f", str(source), "-o", str(output))


def test_shorten_file_stops_at_the_monthly_quota_with_exit_code_3(
    server: ThreadServer, tmp_path: Path
) -> None:
    _, _, output, result = _stopped_by_quota(server, tmp_path, _rows("quota"))

    assert result.returncode == 3, result.stderr
    reset = next_month_start(utcnow())
    assert "error API_LIMIT_REACHED: Batas request bulanan tercapai." in result.stderr
    assert f"The quota resets at {reset:%Y-%m-%d} 00:00 UTC." in result.stderr
    assert "Run the same command again to resume" in result.stderr
    assert "2 shortened, 0 already done, 0 failed, 2 left" in result.stderr
    rows = _read_csv(output)
    assert [bool(row["short_url"]) for row in rows] == [True, True, False, False]
    assert rows[2]["error"].startswith("API_LIMIT_REACHED:")


def test_shorten_file_run_again_resumes_without_making_links_twice(
    server: ThreadServer, tmp_path: Path
) -> None:
    rows = _rows("resume")
    account, source, output, stopped = _stopped_by_quota(server, tmp_path, rows)
    assert stopped.returncode == 3, stopped.stderr
    first_run = [row["short_url"] for row in _read_csv(output)]
    with server.engine.begin() as conn:  # the operator moves the shop to a bigger plan
        set_plan(conn, account.email, "starter")

    result = _shorten(server, account, "-f", str(source), "-o", str(output))

    assert result.returncode == 0, result.stderr
    assert "2 shortened, 2 already done, 0 failed, 0 left" in result.stderr
    results = _read_csv(output)
    assert [row["short_url"] for row in results[:2]] == first_run[:2]
    made = {link.destination_url: link.short_url for link in _links(server, account)}
    assert len(made) == 4  # one link per row, none twice
    assert [row["short_url"] for row in results] == [made[row["url"]] for row in rows]
