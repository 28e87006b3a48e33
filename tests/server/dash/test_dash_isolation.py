"""One account cannot see, change or delete another's links, keys or Bio Page; dashboard
actions keep the plan's link limit but never count as API requests (SQLite and PostgreSQL)."""

from __future__ import annotations

import re

import httpx
from dash_support import DashUser, Users
from kliqs_testing.servers import ProcessServer


def _api(server: ProcessServer) -> httpx.Client:
    return httpx.Client(base_url=server.url, timeout=30)


def _api_link(server: ProcessServer, key: str, slug: str) -> dict[str, str]:
    with _api(server) as api:
        answer = api.post("/api/v1/links", headers={"Authorization": f"Bearer {key}"},
                          json={"url": f"https://tokoku.id/{slug}", "slug": slug})
    assert answer.status_code == 201, answer.text
    return answer.json()["data"]  # type: ignore[no-any-return]


def _me(server: ProcessServer, key: str) -> httpx.Response:
    with _api(server) as api:
        return api.get("/api/v1/me", headers={"Authorization": f"Bearer {key}"})


def test_links_of_one_account_are_invisible_and_untouchable_to_another(
    live_server: ProcessServer, users: Users
) -> None:
    alice, bob = users.new(), users.new()
    slug = f"alice-{alice.email.split('-')[1].split('@')[0]}"
    link = _api_link(live_server, alice.create_key(), slug)
    listed = f'data-code="{slug}"'
    assert listed in alice.get("/dash/links").text  # made through the API, listed here
    assert listed in alice.get(f"/dash/links?q={slug}").text
    assert listed not in bob.get("/dash/links").text
    assert listed not in bob.get(f"/dash/links?q={slug}").text
    for path in (f"/dash/links/{link['id']}", f"/dash/links/{slug}",
                 f"/dash/links/{link['id']}/delete"):
        assert bob.get(path).status_code == 404, path
    answer = bob.post(f"/dash/links/{link['id']}/delete", {}, token_from="/dash/links")
    assert answer.status_code == 404
    assert listed in alice.get("/dash/links").text
    assert alice.get(f"/dash/links/{link['id']}").status_code == 200


def test_keys_of_one_account_cannot_be_listed_or_revoked_by_another(
    live_server: ProcessServer, users: Users
) -> None:
    alice, bob = users.new(), users.new()
    key = alice.create_key("alice-backend")
    key_id = _key_id(alice, "alice-backend")
    assert "alice-backend" not in bob.get("/dash/settings/api-keys").text
    assert bob.get(f"/dash/settings/api-keys/{key_id}/revoke").status_code == 404
    answer = bob.post(f"/dash/settings/api-keys/{key_id}/revoke", {},
                      token_from="/dash/settings/api-keys")
    assert answer.status_code == 404
    assert _me(live_server, key).status_code == 200
    answer = alice.post(f"/dash/settings/api-keys/{key_id}/revoke", {},
                        token_from="/dash/settings/api-keys")
    assert answer.status_code == 303
    assert _me(live_server, key).json()["error"] == "REVOKED_API_KEY"


def _key_id(user: DashUser, name: str) -> str:
    page = user.get("/dash/settings/api-keys").text
    row = re.search(r'<tr data-key-id="([^"]+)"[^>]*>\s*<td[^>]*><strong>' + re.escape(name), page)
    assert row, "key not listed"
    return row.group(1)


def test_bio_pages_are_per_account_and_handles_cannot_be_taken_over(
    live_server: ProcessServer, users: Users
) -> None:
    alice, bob = users.new(), users.new()
    handle = f"toko-{alice.email.split('-')[1].split('@')[0]}"
    saved = alice.post("/dash/bio", {"handle": handle, "display_name": "Toko Alice",
                                     "link_title": "Shopee", "link_url": "https://shopee.co.id/a"})
    assert saved.status_code == 303
    assert handle not in bob.get("/dash/bio").text
    grab = bob.post("/dash/bio", {"handle": handle, "display_name": "Bob was here"})
    assert grab.status_code == 409 and "sudah dipakai" in grab.text
    with _api(live_server) as public:
        page = public.get(f"/{handle}")
    assert page.status_code == 200
    assert "Toko Alice" in page.text and "Bob was here" not in page.text


def test_dashboard_links_keep_the_plan_limit_and_are_not_counted_as_api_requests(
    live_server: ProcessServer, users: Users
) -> None:
    user = users.new()  # Free: 5 links, 30 requests
    for n in range(5):
        answer = user.post("/dash/links", {"url": f"https://tokoku.id/p/{n}"})
        assert answer.status_code == 303, answer.text[:500]
    refused = user.post("/dash/links", {"url": "https://tokoku.id/p/6"})
    assert refused.status_code == 403
    assert "Batas shortlink paket tercapai." in refused.text
    usage = _me(live_server, user.create_key()).json()["data"]["usage"]
    assert usage["requests_used"] == 0
    assert usage["links_used"] == 5
    overview = user.get("/dash").text
    assert re.search(r'data-testid="links">5 / 5<', overview)
    assert re.search(r'data-testid="requests">0 / 30<', overview)
