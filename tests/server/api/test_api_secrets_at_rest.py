"""A dump of the database holds no plaintext API key and no plaintext password."""

from __future__ import annotations

import subprocess
import sys

from kliqs_testing.servers import ProcessServer


def _dump(server: ProcessServer) -> bytes:
    url = server.database.url
    if server.database.kind == "sqlite":
        path = url.removeprefix("sqlite:///")
        return subprocess.run([sys.executable, "-c", (
            "import sqlite3,sys; c=sqlite3.connect(sys.argv[1]);"
            "sys.stdout.write(chr(10).join(c.iterdump()))"), path],
            check=True, capture_output=True).stdout
    return subprocess.run(["pg_dump", "--data-only", url], check=True,
                          capture_output=True).stdout


def test_dump_holds_no_plaintext_key_or_password(live_server: ProcessServer) -> None:
    password, link_password = "Sup3r-Rahasia-Dashboard", "kunci-link-123"
    account = live_server.new_account("pro", password=password)
    with live_server.client() as http:
        resp = http.post("/api/v1/links", headers=account.auth,
                         json={"url": "https://a.id", "password": link_password})
        assert resp.status_code == 201
    dump = _dump(live_server)
    assert account.email.encode() in dump  # the dump really holds the account
    for secret in (account.key, account.key[14:], password, link_password):
        assert secret.encode() not in dump
    assert b"$argon2id$" in dump  # passwords are Argon2id hashes
