"""The SDK against the real Kliqs server over HTTP (SQLite, the app in a thread)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from itertools import islice

import pytest
from kliqs_testing.servers import ThreadServer

from kliqs_core import (
    InvalidApiKeyError,
    KliqsClient,
    NotFoundError,
    ReservedSlugError,
    SlugAlreadyExistsError,
)


@pytest.fixture
def kliqs(thread_server: ThreadServer) -> KliqsClient:
    account = thread_server.new_account("business")
    return KliqsClient(account.key, base_url=thread_server.url, max_retries=0)


def test_create_read_update_and_delete_a_link(kliqs: KliqsClient) -> None:
    expires = datetime.now(UTC) + timedelta(days=30)

    link = kliqs.create_link(
        "https://marketku.id/products/1",
        slug="VPS-Murah",
        title="VPS Murah",
        password="rahasia",
        expires_at=expires,
    )

    assert link.short_code == "vps-murah"  # stored lower-case
    assert link.short_url.endswith("/vps-murah")
    assert link.has_password is True
    assert link.expires_at is not None and abs(link.expires_at - expires) < timedelta(seconds=1)
    assert link.created_at.tzinfo is not None
    assert kliqs.get_link("vps-murah").id == link.id

    updated = kliqs.update_link(link.id, title="VPS Murah Banget", password=None)

    assert (updated.title, updated.has_password) == ("VPS Murah Banget", False)
    kliqs.delete_link(link.id)
    with pytest.raises(NotFoundError):
        kliqs.get_link(link.id)


def test_the_same_idempotency_key_replays_the_first_link(kliqs: KliqsClient) -> None:
    first = kliqs.create_link("https://marketku.id/products/2", idempotency_key="live-key-1")
    again = kliqs.create_link("https://marketku.id/products/2", idempotency_key="live-key-1")

    assert again.id == first.id


def test_a_taken_slug_gets_the_next_suffix(kliqs: KliqsClient) -> None:
    kliqs.create_link("https://marketku.id/products/3", slug="sepatu")

    with pytest.raises(SlugAlreadyExistsError):
        kliqs.create_link("https://marketku.id/products/4", slug="sepatu")
    link = kliqs.create_link_with_unique_slug("https://marketku.id/products/4", slug="sepatu")

    assert link.short_code == "sepatu-2"


def test_listing_walks_every_page_newest_first(kliqs: KliqsClient) -> None:
    made = [kliqs.create_link(f"https://marketku.id/products/{n}").id for n in range(5)]

    listed = [link.id for link in kliqs.list_links(limit=2)]

    assert listed == made[::-1]
    assert [link.id for link in islice(kliqs.list_links(limit=2), 1)] == [made[-1]]


def test_me_reports_plan_and_usage(kliqs: KliqsClient) -> None:
    kliqs.create_link("https://marketku.id/products/9")

    me = kliqs.me()

    assert me.plan == "business"
    assert me.usage.links_used == 1
    assert me.usage.resets_at.tzinfo is not None


def test_stats_of_a_new_link(kliqs: KliqsClient) -> None:
    link = kliqs.create_link("https://marketku.id/products/9")

    stats = kliqs.link_stats(link.id, days=7)

    assert (stats.link_id, stats.total_clicks, len(stats.per_day)) == (link.id, 0, 7)


def test_contract_errors_arrive_as_their_classes(
    kliqs: KliqsClient, thread_server: ThreadServer
) -> None:
    with pytest.raises(ReservedSlugError):
        kliqs.create_link("https://marketku.id/products/1", slug="admin")

    stranger = KliqsClient("kliqs_sk_live_" + "x" * 32, base_url=thread_server.url, max_retries=0)
    with pytest.raises(InvalidApiKeyError) as caught:
        stranger.me()
    assert caught.value.request_id
