"""The operator commands (`kliqs db|accounts|keys ...`) run as a user runs them, against the
database a live `kliqs serve` uses, on SQLite and on PostgreSQL."""

from __future__ import annotations

import os
import re
import subprocess

import pytest

from kliqs_testing.servers import KLIQS_BIN, ProcessServer

KEY_LINE = re.compile(r"kliqs_sk_live_[0-9A-Za-z]{32}\n")
EMAIL = "Toko.Operator@Example.com"


def kliqs(server: ProcessServer, *args: str) -> subprocess.CompletedProcess[str]:
    """Run `kliqs ARGS` with the live server's database, as an operator on that machine would."""
    env = {**os.environ, "KLIQS_DATA_DIR": str(server.data_dir),
           "KLIQS_DATABASE_URL": server.database.url, "COLUMNS": "200"}
    return subprocess.run([KLIQS_BIN, *args], env=env, capture_output=True, text=True,
                          timeout=60)


def me(server: ProcessServer, key: str) -> dict[str, object]:
    with server.client() as http:
        return http.get("/api/v1/me", headers={"Authorization": f"Bearer {key}"}).json()


def key_row(server: ProcessServer, name: str) -> list[str]:
    """The cells of the `kliqs keys list` row of the key named ``name``."""
    listed = kliqs(server, "keys", "list", EMAIL)
    assert listed.returncode == 0, listed.stderr
    [row] = [line for line in listed.stdout.splitlines() if f" {name} " in line]
    return [cell.strip() for cell in row.strip("│ ").split("│")]


def test_db_upgrade_is_idempotent(live_server: ProcessServer) -> None:
    for _ in range(2):  # the server already migrated: nothing to do, still exit 0
        done = kliqs(live_server, "db", "upgrade")
        assert done.returncode == 0, done.stderr


def test_an_operator_account_and_key_work_against_the_api(live_server: ProcessServer) -> None:
    created = kliqs(live_server, "accounts", "create", EMAIL, "--plan", "starter",
                    "--password", "kata-sandi-panjang")
    assert created.returncode == 0, created.stderr
    assert "toko.operator@example.com" in created.stdout  # e-mails are stored lower-case

    made = kliqs(live_server, "keys", "create", EMAIL, "--name", "server-produksi")
    assert made.returncode == 0, made.stderr
    assert KEY_LINE.fullmatch(made.stdout), made.stdout  # the key alone on stdout
    key = made.stdout.strip()

    answer = me(live_server, key)
    assert answer["success"] is True
    data = answer["data"]
    assert isinstance(data, dict) and data["plan"] == "starter"

    [key_id, name, last4, created_at, last_used, status] = key_row(live_server, "server-produksi")
    assert (name, last4, status) == ("server-produksi", key[-4:], "active")
    assert created_at.startswith("20") and last_used.startswith("20")  # used just now by /me
    assert key not in kliqs(live_server, "keys", "list", EMAIL).stdout  # never shown again

    moved = kliqs(live_server, "accounts", "set-plan", EMAIL, "pro")
    assert moved.returncode == 0, moved.stderr
    data = me(live_server, key)["data"]
    assert isinstance(data, dict) and data["plan"] == "pro"

    revoked = kliqs(live_server, "keys", "revoke", key_id)
    assert revoked.returncode == 0, revoked.stderr
    answer = me(live_server, key)
    assert (answer["success"], answer["error"]) == (False, "REVOKED_API_KEY")
    assert key_row(live_server, "server-produksi")[-1] == "revoked"
    again = kliqs(live_server, "keys", "revoke", key_id)
    assert again.returncode == 1 and "no active key" in again.stderr


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (("accounts", "create", "bukan-email"), "not an email address"),
        (("accounts", "create", "x@example.com", "--plan", "gold"), "unknown plan 'gold'"),
        (("accounts", "create", "y@example.com", "--password", "pendek"), "at least 8"),
        (("accounts", "set-plan", "nobody@example.com", "pro"), "no account with email"),
        (("keys", "create", "nobody@example.com", "--name", "x"), "no account with email"),
    ],
)
def test_refusals_exit_1_with_a_clear_message(
    live_server: ProcessServer, args: tuple[str, ...], message: str
) -> None:
    done = kliqs(live_server, *args)
    assert done.returncode == 1
    assert message in done.stderr
    assert "Traceback" not in done.stderr + done.stdout


def test_a_second_account_with_the_same_email_is_refused(live_server: ProcessServer) -> None:
    email = "kembar@example.com"
    assert kliqs(live_server, "accounts", "create", email).returncode == 0
    done = kliqs(live_server, "accounts", "create", email.upper())
    assert done.returncode == 1 and "already exists" in done.stderr
