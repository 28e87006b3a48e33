"""The expiry boundary with the clock moved (the app runs in this process): a cached link
stops redirecting the moment it expires, without waiting for its cache entry to age."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from kliqs_testing.servers import ThreadServer
from public_support import create_link
from server import clock


def _set_now(moment: datetime) -> None:
    clock.set_offset((moment - datetime.now(UTC)).total_seconds())


def test_link_redirects_until_expires_at_then_answers_410(thread_server: ThreadServer) -> None:
    account = thread_server.new_account("pro")
    expires = (datetime.now(UTC) + timedelta(hours=1)).replace(microsecond=0)
    with thread_server.client() as http:
        link = create_link(http, account, url="https://toko.id/flash-sale",
                           expires_at=expires.isoformat())
        locked = create_link(http, account, password="rahasia", expires_at=expires.isoformat())
        code = link["short_code"]
        assert http.get(f"/{code}").status_code == 302  # cached from here on

        _set_now(expires - timedelta(milliseconds=300))
        last = http.get(f"/{code}")
        assert last.status_code == 302 and last.headers["location"] == "https://toko.id/flash-sale"
        assert http.get(f"/{code}/qr.svg").status_code == 200
        assert http.get(f"/{locked['short_code']}").status_code == 200  # the form

        _set_now(expires + timedelta(milliseconds=50))
        gone = http.get(f"/{code}")
        assert gone.status_code == 410
        assert "Link sudah tidak aktif" in gone.text
        assert http.head(f"/{code}").status_code == 410
        assert http.get(f"/{code}/qr.svg").status_code == 410
        assert http.get(f"/{locked['short_code']}").status_code == 410  # no form either
