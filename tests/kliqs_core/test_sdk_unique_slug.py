"""The seed's "handle 409": try slug, slug-2, slug-3... with keys derived from the caller's."""

from __future__ import annotations

import json
from collections.abc import Callable

import pytest
import responses

from kliqs_core import KliqsClient, ReservedSlugError, SlugAlreadyExistsError

Load = Callable[[str], None]  # the conftest's `load` fixture

URL = "https://marketku.id/products/1"


def _sent(api: responses.RequestsMock) -> list[tuple[str, str | None]]:
    out = []
    for call in api.calls:
        body = call.request.body
        assert body is not None
        out.append((json.loads(body)["slug"], call.request.headers.get("Idempotency-Key")))
    return out


def test_conflicts_move_on_to_the_next_suffix_with_derived_keys(
    client: KliqsClient, api: responses.RequestsMock, load: Load
) -> None:
    load("slug_taken_twice")

    link = client.create_link_with_unique_slug(
        "https://marketku.id/products/1",
        slug="vps-murah",
        title="VPS Murah",
        idempotency_key="woo:1:42",
    )

    assert link.short_code == "vps-murah-3"
    assert _sent(api) == [
        ("vps-murah", "woo:1:42"),
        ("vps-murah-2", "woo:1:42:slug-2"),
        ("vps-murah-3", "woo:1:42:slug-3"),
    ]


def test_without_a_key_every_attempt_gets_a_fresh_one(
    client: KliqsClient, api: responses.RequestsMock, load: Load
) -> None:
    load("slug_taken_twice")

    client.create_link_with_unique_slug(URL, slug="vps-murah")

    keys = [key for _, key in _sent(api)]
    assert len(set(keys)) == 3 and None not in keys


def test_the_attempts_are_bounded_and_the_last_conflict_is_raised(
    client: KliqsClient, api: responses.RequestsMock, load: Load
) -> None:
    load("errors/SLUG_ALREADY_EXISTS")  # answers every attempt

    with pytest.raises(SlugAlreadyExistsError):
        client.create_link_with_unique_slug(URL, slug="vps-murah", max_attempts=4)

    assert [slug for slug, _ in _sent(api)] == [
        "vps-murah",
        "vps-murah-2",
        "vps-murah-3",
        "vps-murah-4",
    ]


def test_other_errors_are_not_retried_with_a_suffix(
    client: KliqsClient, api: responses.RequestsMock, load: Load
) -> None:
    load("errors/RESERVED_SLUG")

    with pytest.raises(ReservedSlugError):
        client.create_link_with_unique_slug(URL, slug="admin")

    assert len(api.calls) == 1


def test_max_attempts_below_one_is_refused(client: KliqsClient) -> None:
    with pytest.raises(ValueError):
        client.create_link_with_unique_slug(URL, slug="x", max_attempts=0)
