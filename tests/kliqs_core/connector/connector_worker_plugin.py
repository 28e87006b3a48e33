"""A connector plug-in for the real-worker tests, loaded by the worker subprocess.

It registers a platform ``filetest`` and a notifier that append to files, and a Kliqs client
that keeps its links in a SQLite file shared by every process, honouring ``Idempotency-Key``
like the API. Everything lives in ``$KLIQS_TEST_STATE_DIR``. If the file ``fail_once`` exists,
the next call removes it and fails with a 503. If the file ``hang_on_create``
exists there, ``create_link`` creates the link, writes ``created.flag`` and then sleeps, so
the test can kill the worker right after the API created a link and before the connector
stored it.
"""

from __future__ import annotations

import json
import os
import sqlite3
import time
from dataclasses import dataclass
from pathlib import Path

from kliqs_core.connector import register_notifier, register_platform
from kliqs_core.connector.records import ProductRecord
from kliqs_core.connector.runtime import set_kliqs_client_factory
from kliqs_core.connector.settings import ConnectorSettings
from kliqs_core.errors import ServerError, SlugAlreadyExistsError

PLATFORM = "filetest"


def state_dir() -> Path:
    """The folder shared by the test and its worker processes."""
    return Path(os.environ["KLIQS_TEST_STATE_DIR"])


@dataclass(frozen=True)
class StoredLink:
    id: str
    short_code: str
    short_url: str


class FileKliqsClient:
    """``create_link`` backed by ``links.sqlite``; every call is logged in ``calls``."""

    def __init__(self, folder: Path) -> None:
        self.folder = folder
        self.db = sqlite3.connect(folder / "links.sqlite", timeout=30, isolation_level=None)
        self.db.execute(
            "CREATE TABLE IF NOT EXISTS links (key TEXT PRIMARY KEY, body TEXT, id TEXT, code TEXT)"
        )
        self.db.execute("CREATE TABLE IF NOT EXISTS calls (key TEXT, body TEXT)")

    def create_link(
        self,
        url: str,
        *,
        slug: str | None = None,
        title: str | None = None,
        idempotency_key: str | None = None,
    ) -> StoredLink:
        body = json.dumps({"url": url, "slug": slug, "title": title}, sort_keys=True)
        self.db.execute("INSERT INTO calls VALUES (?, ?)", (idempotency_key, body))
        if (self.folder / "fail_once").exists():
            (self.folder / "fail_once").unlink()
            raise ServerError(503, "SERVICE_UNAVAILABLE", "try again later")
        row = self.db.execute(
            "SELECT body, id, code FROM links WHERE key = ?", (idempotency_key,)
        ).fetchone()
        if row is None:
            if slug and self.db.execute("SELECT 1 FROM links WHERE code = ?", (slug,)).fetchone():
                raise SlugAlreadyExistsError(409, "SLUG_ALREADY_EXISTS", f"{slug} is taken")
            count = self.db.execute("SELECT count(*) FROM links").fetchone()[0]
            row = (body, f"link-{count + 1}", slug or f"gen{count + 1}")
            self.db.execute("INSERT INTO links VALUES (?, ?, ?, ?)", (idempotency_key, *row))
            if (self.folder / "hang_on_create").exists():
                (self.folder / "created.flag").write_text(row[1])
                time.sleep(60)  # killed here by the test
        assert row[0] == body, "same key, another body"
        return StoredLink(row[1], row[2], f"https://kliqs.test/{row[2]}")


class FilePlatform:
    """Write-backs are lines in ``writes.log``."""

    name = PLATFORM

    def product_url(self, product: ProductRecord) -> str:
        return product.product_url or f"https://{product.shop}/p/{product.product_id}"

    def write_back(self, product: ProductRecord, short_url: str) -> None:
        with open(state_dir() / "writes.log", "a") as log:
            log.write(f"{product.product_id} {short_url}\n")


def notify(product: ProductRecord) -> None:
    with open(state_dir() / "notify.log", "a") as log:
        log.write(f"{product.product_id} {product.short_url}\n")


def _client(_: ConnectorSettings) -> FileKliqsClient:
    return FileKliqsClient(state_dir())


def setup() -> None:
    """Called by the runtime at start in each process."""
    register_platform(FilePlatform())
    register_notifier("file", notify)
    set_kliqs_client_factory(_client)
