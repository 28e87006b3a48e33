"""Click recording and statistics: what is stored per click (never the IP), the link's
``clicks`` counter and ``GET /api/v1/links/{id}/stats``."""

from __future__ import annotations

from datetime import UTC, datetime

import httpx
from sqlalchemy import select

from kliqs_testing.servers import ApiAccount, ProcessServer
from public_support import DESKTOP, GOOGLEBOT, IPHONE, counter, create_link, wait_for_clicks
from server.db.models import Click


def _visit(http: httpx.Client, code: str, agent: str, ip: str, **headers: str) -> None:
    resp = http.get(f"/{code}", headers={"User-Agent": agent, "X-Forwarded-For": ip, **headers})
    assert resp.status_code == 302


def test_each_click_stores_its_description_but_no_ip(
    live_server: ProcessServer, http: httpx.Client, account: ApiAccount
) -> None:
    link = create_link(http, account)
    code = link["short_code"]
    _visit(http, code, IPHONE, "203.0.113.7", Referer="https://www.instagram.com/toko/",
           **{"CF-IPCountry": "id"})
    _visit(http, code, DESKTOP, "198.51.100.9", **{"CF-IPCountry": "XX"})
    _visit(http, code, GOOGLEBOT, "66.249.66.1")
    assert wait_for_clicks(live_server.engine, link["id"], 3) == 3
    with live_server.engine.connect() as conn:
        rows = conn.execute(select(Click).where(Click.link_id == link["id"]).order_by(Click.id))
        phone, desktop, bot = [r._asdict() for r in rows]
    assert (phone["browser"], phone["os"], phone["device"], phone["is_bot"]) == (
        "Mobile Safari", "iOS", "mobile", False)
    assert phone["referrer_host"] == "www.instagram.com" and phone["country"] == "ID"
    assert (desktop["browser"], desktop["os"], desktop["device"]) == ("Chrome", "Windows",
                                                                      "desktop")
    assert desktop["referrer_host"] is None and desktop["country"] is None
    assert bot["is_bot"] is True and bot["device"] == "bot"
    assert abs((phone["ts"] - datetime.now(UTC)).total_seconds()) < 60
    for row in (phone, desktop, bot):
        assert len(row["visitor_hash"]) == 32
        assert not any(ip in str(v) for v in row.values()
                       for ip in ("203.0.113.7", "198.51.100.9", "66.249.66.1"))


def test_link_json_and_counter_follow_the_clicks(
    live_server: ProcessServer, http: httpx.Client, account: ApiAccount
) -> None:
    link = create_link(http, account)
    for _ in range(4):
        _visit(http, link["short_code"], IPHONE, "203.0.113.8")
    assert wait_for_clicks(live_server.engine, link["id"], 4) == 4
    assert counter(live_server.engine, link["id"]) == 4
    data = http.get(f"/api/v1/links/{link['id']}", headers=account.auth).json()["data"]
    assert data["clicks"] == 4


def test_stats_count_people_and_bots_apart(
    live_server: ProcessServer, http: httpx.Client, account: ApiAccount
) -> None:
    link = create_link(http, account)
    code = link["short_code"]
    for _ in range(3):  # one person, three clicks
        _visit(http, code, IPHONE, "203.0.113.10", Referer="https://l.instagram.com/",
               **{"CF-IPCountry": "ID"})
    _visit(http, code, DESKTOP, "203.0.113.11", **{"CF-IPCountry": "SG"})
    _visit(http, code, GOOGLEBOT, "66.249.66.2")
    assert wait_for_clicks(live_server.engine, link["id"], 5) == 5
    resp = http.get(f"/api/v1/links/{link['id']}/stats?days=7", headers=account.auth)
    assert resp.status_code == 200
    assert int(resp.headers["x-ratelimit-remaining"]) < int(resp.headers["x-ratelimit-limit"])
    stats = resp.json()["data"]
    today = datetime.now(UTC).date().isoformat()
    assert stats["link_id"] == link["id"]
    assert (stats["total_clicks"], stats["human_clicks"], stats["bot_clicks"]) == (5, 4, 1)
    assert stats["unique_visitors"] == 2
    assert len(stats["per_day"]) == 7 and stats["per_day"][-1] == {"date": today, "clicks": 4}
    assert sum(day["clicks"] for day in stats["per_day"]) == 4
    assert stats["referrers"] == [{"value": "l.instagram.com", "clicks": 3},
                                  {"value": "(direct)", "clicks": 1}]
    assert stats["devices"] == [{"value": "mobile", "clicks": 3}, {"value": "desktop", "clicks": 1}]
    assert stats["browsers"][0] == {"value": "Mobile Safari", "clicks": 3}
    assert stats["os"] == [{"value": "iOS", "clicks": 3}, {"value": "Windows", "clicks": 1}]
    assert stats["countries"] == [{"value": "ID", "clicks": 3}, {"value": "SG", "clicks": 1}]
    by_code = http.get(f"/api/v1/links/{code}/stats", headers=account.auth).json()["data"]
    assert len(by_code["per_day"]) == 30 and by_code["total_clicks"] == 5


def test_stats_refuse_bad_days_and_other_accounts_links(
    live_server: ProcessServer, http: httpx.Client, account: ApiAccount
) -> None:
    link = create_link(http, account)
    for days in ("0", "366", "²", "7.5"):
        bad = http.get(f"/api/v1/links/{link['id']}/stats", params={"days": days},
                       headers=account.auth)
        assert bad.status_code == 400 and bad.json()["error"] == "VALIDATION_ERROR", days
    stranger = live_server.new_account("pro")
    hidden = http.get(f"/api/v1/links/{link['id']}/stats", headers=stranger.auth)
    assert hidden.status_code == 404 and hidden.json()["error"] == "NOT_FOUND"
    assert http.get(f"/api/v1/links/{link['id']}/stats").json()["error"] == "UNAUTHORIZED"
