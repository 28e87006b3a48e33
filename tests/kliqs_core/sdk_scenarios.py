"""One scripted scenario per recorded fixture file: the real SDK against the live server.

A scenario sets the stage unrecorded (accounts, earlier links, clicks, used-up quotas) and
makes the calls the unit tests replay inside ``stage.capture()``. ``ERROR_CALLS`` is the
SDK call each ``errors/<CODE>.yaml`` answers, shared by the recorder and the unit tests.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

import requests
from kliqs_testing.servers import ApiAccount
from sdk_stage import Stage, frozen_burst_clock

from kliqs_core import KliqsClient, KliqsError, Link, RateLimitedError, RetryPolicy
from kliqs_core._batch import InputFile, run_batch, row_key

__all__ = ["CLI_ROWS", "ERROR_CALLS", "HANDWRITTEN", "PRODUCT", "REPLAY_CALLS", "SCENARIOS"]

PRODUCT = "https://marketku.id/products/1"
#: The CSV rows of the ``cli_*`` fixtures (the third row lets the server make the code).
CLI_ROWS: tuple[dict[str, str], ...] = (
    {"url": "https://marketku.id/products/3", "slug": "sepatu-lari", "title": "Sepatu Lari",
     "sku": "S-3"},
    {"url": "https://marketku.id/products/4", "slug": "tas-kulit", "title": "Tas Kulit",
     "sku": "T-4"},
    {"url": "https://marketku.id/products/5", "slug": "", "title": "Kaos Polos", "sku": "K-5"},
)

#: Fixture files written by hand, with the reason no server recording can replace them.
HANDWRITTEN: dict[str, str] = {
    "errors/INTERNAL_ERROR": "the server answers it only on a bug; nothing provokes it from outside",
    "unknown/400": "a code newer than this SDK: the server has no such code today",
    "unknown/401": "a code newer than this SDK",
    "unknown/403": "a code newer than this SDK",
    "unknown/409": "a code newer than this SDK",
    "unknown/422": "a code newer than this SDK",
    "unknown/429": "a code newer than this SDK",
    "unknown/503": "a code newer than this SDK",
    "bad_gateway": "a reverse proxy's 502 page; the Kliqs server never answers 502",
    "service_unavailable": "a reverse proxy's 503; the Kliqs server never answers 503",
    "not_envelope_200": "a captive portal's page, not the Kliqs server",
    "wrong_shape_200": "a broken success payload the Kliqs server never sends",
    "rate_limited_long": "a RATE_LIMITED with Retry-After 120; the server always says 1",
}

Scenario = Callable[[Stage], None]
SCENARIOS: dict[str, Scenario] = {}


def scenario(name: str) -> Callable[[Scenario], Scenario]:
    """Register the script that records ``fixtures/<name>.yaml``."""

    def register(script: Scenario) -> Scenario:
        SCENARIOS[name] = script
        return script

    return register


def _links(kliqs: KliqsClient, *slugs: str) -> list[Link]:
    return [kliqs.create_link(f"{PRODUCT}?v={n}", slug=slug) for n, slug in enumerate(slugs)]


@scenario("create_link")
def _create_link(stage: Stage) -> None:
    kliqs = stage.client(stage.account().key)
    with stage.capture():
        kliqs.create_link(PRODUCT, slug="vps-murah", title="VPS Murah")


@scenario("create_link_full")
def _create_link_full(stage: Stage) -> None:
    kliqs = stage.client(stage.account().key)
    with stage.capture():
        kliqs.create_link(
            "https://marketku.id/promo",
            title="Promo 12.12",
            description="Diskon akhir tahun",
            expires_at="2030-12-13T00:00:00Z",
            password="rahasia",
        )


@scenario("get_link")
def _get_link(stage: Stage) -> None:
    kliqs = stage.client(stage.account().key)
    link = kliqs.create_link(PRODUCT, slug="vps-murah", title="VPS Murah")
    for _ in range(3):
        stage.click("vps-murah", agent=_ANDROID_CHROME, referer="https://wa.me/")
    stage.wait_for_clicks(link, 3)
    with stage.capture():
        kliqs.get_link("vps-murah")


@scenario("update_link")
def _update_link(stage: Stage) -> None:
    kliqs = stage.client(stage.account().key)
    link = kliqs.create_link(PRODUCT, slug="vps-murah", title="VPS Murah", password="rahasia")
    with stage.capture():
        kliqs.update_link(link.id, title="VPS Murah Banget", password=None)


@scenario("delete_link")
def _delete_link(stage: Stage) -> None:
    kliqs = stage.client(stage.account().key)
    link = kliqs.create_link(PRODUCT, slug="vps-murah")
    with stage.capture():
        kliqs.delete_link(link.id)


_ANDROID_CHROME = (
    "Mozilla/5.0 (Linux; Android 14; SM-A546E) AppleWebKit/537.36 (KHTML, like Gecko) "
    "Chrome/126.0.0.0 Mobile Safari/537.36"
)
_WINDOWS_CHROME = (
    "Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) "
    "Chrome/126.0.0.0 Safari/537.36"
)
_GOOGLEBOT = "Mozilla/5.0 (compatible; Googlebot/2.1; +http://www.google.com/bot.html)"


@scenario("link_stats")
def _link_stats(stage: Stage) -> None:
    kliqs = stage.client(stage.account().key)
    link = kliqs.create_link(PRODUCT, slug="vps-murah")
    visits: list[dict[str, Any]] = [
        *({"agent": _ANDROID_CHROME, "referer": "https://wa.me/", "ip": f"203.0.113.{n}"}
          for n in range(6)),
        *({"agent": _ANDROID_CHROME, "referer": "https://www.instagram.com/", "ip": "198.51.100.9"}
          for _ in range(3)),
        {"agent": _WINDOWS_CHROME, "country": "SG", "ip": "192.0.2.1"},
        {"agent": _GOOGLEBOT},
        {"agent": _GOOGLEBOT},
    ]
    for visit in visits:
        stage.click("vps-murah", **visit)
    stage.wait_for_clicks(link, len(visits))
    with stage.capture():
        kliqs.link_stats(link.id, days=7)


@scenario("me")
def _me(stage: Stage) -> None:
    account = stage.account("starter", email="toko@marketku.id", key_name="server-produksi")
    kliqs = stage.client(account.key)
    _links(kliqs, "vps-murah", "promo-1212")
    kliqs.list_links_page()  # the third request counted this month
    with stage.capture():
        kliqs.me()


@scenario("list_links")
def _list_links(stage: Stage) -> None:
    kliqs = stage.client(stage.account().key)
    _links(kliqs, "vps-murah", "promo-1212", "sepatu-lari", "tas-kulit", "kaos-polos")
    with stage.capture():
        list(kliqs.list_links(limit=2))


@scenario("search_links")
def _search_links(stage: Stage) -> None:
    kliqs = stage.client(stage.account().key)
    _links(kliqs, "sepatu-lari", "tas-kulit")
    with stage.capture():
        list(kliqs.list_links("sepatu"))


@scenario("slug_taken_twice")
def _slug_taken_twice(stage: Stage) -> None:
    kliqs = stage.client(stage.account().key)
    _links(kliqs, "vps-murah", "vps-murah-2")
    with stage.capture():
        kliqs.create_link_with_unique_slug(
            PRODUCT, slug="vps-murah", title="VPS Murah", idempotency_key="woo:1:42"
        )


@scenario("rate_limited_then_created")
def _rate_limited_then_created(stage: Stage) -> None:
    with frozen_burst_clock() as advance:
        account = _burst_spent(stage)
        kliqs = stage.client(account.key, max_retries=2, retry_policy=RetryPolicy(sleep=advance))
        with stage.capture():
            kliqs.create_link(PRODUCT)  # refused, then retried after Retry-After: 1


def _cli_input() -> InputFile:
    fieldnames = tuple(CLI_ROWS[0])
    return InputFile(fieldnames=fieldnames, rows=tuple(dict(r) for r in CLI_ROWS), delimiter=",")


def _cli_output(stage: Stage) -> Path:
    return stage.workdir / f"{stage.name}.results.csv"


@scenario("cli_batch")
def _cli_batch(stage: Stage) -> None:
    kliqs = stage.client(stage.account().key)
    with stage.capture():
        run_batch(kliqs, _cli_input(), _cli_output(stage), done={})


@scenario("cli_quota")
def _cli_quota(stage: Stage) -> None:
    account = stage.account("free")
    stage.use_requests(account, 29)  # of the free plan's 30: the batch gets one row through
    kliqs = stage.client(account.key)
    with stage.capture():
        run_batch(kliqs, _cli_input(), _cli_output(stage), done={})


@scenario("cli_resume")
def _cli_resume(stage: Stage) -> None:
    kliqs = stage.client(stage.account().key)
    done = {row_key(CLI_ROWS[0]): "http://kliqs.test/sepatu-lari"}
    with stage.capture():
        run_batch(kliqs, _cli_input(), _cli_output(stage), done=done)


@scenario("cli_row_error")
def _cli_row_error(stage: Stage) -> None:
    kliqs = stage.client(stage.account().key)
    _links(kliqs, "tas-kulit")
    with stage.capture():
        run_batch(kliqs, _cli_input(), _cli_output(stage), done={})


def _put_links(kliqs: KliqsClient) -> Any:
    # The SDK never sends a wrong method; its requestor still maps the answer.
    return kliqs._requestor.request("PUT", "/api/v1/links", lambda data: data)


#: The SDK call whose answer ``errors/<CODE>.yaml`` holds (the unit tests make the same call).
ERROR_CALLS: dict[str, Callable[[KliqsClient], object]] = {
    "UNAUTHORIZED": lambda k: k.create_link(PRODUCT),
    "INVALID_API_KEY": lambda k: k.create_link(PRODUCT),
    "REVOKED_API_KEY": lambda k: k.create_link(PRODUCT),
    "API_LIMIT_REACHED": lambda k: k.create_link(PRODUCT),
    "RATE_LIMITED": lambda k: k.create_link(PRODUCT),
    "PAYLOAD_TOO_LARGE": lambda k: k.create_link(PRODUCT, description="x" * 70_000),
    "VALIDATION_ERROR": lambda k: k.create_link(PRODUCT, title="x" * 201),
    "INVALID_URL": lambda k: k.create_link("ftp://marketku.id/products/1"),
    "INVALID_SLUG": lambda k: k.create_link(PRODUCT, slug="a"),
    "RESERVED_SLUG": lambda k: k.create_link(PRODUCT, slug="admin"),
    "INVALID_EXPIRES_AT": lambda k: k.create_link(PRODUCT, expires_at="2026-01-01T00:00:00Z"),
    "SHORTLINK_LIMIT_REACHED": lambda k: k.create_link(PRODUCT),
    "SLUG_ALREADY_EXISTS": lambda k: k.create_link(PRODUCT, slug="vps-murah"),
    "IDEMPOTENCY_KEY_REUSED": lambda k: k.create_link(PRODUCT, idempotency_key="order-42"),
    "NOT_FOUND": lambda k: k.get_link("tidak-ada"),
    "METHOD_NOT_ALLOWED": _put_links,
}


#: ``ERROR_CALLS`` plus the handwritten ``errors/INTERNAL_ERROR.yaml`` (a POST /links answer).
REPLAY_CALLS: dict[str, Callable[[KliqsClient], object]] = {
    **ERROR_CALLS,
    "INTERNAL_ERROR": lambda k: k.create_link(PRODUCT),
}


def _expect(code: str, call: Callable[[], object]) -> None:
    try:
        call()
    except KliqsError as exc:
        if exc.code != code:
            raise RuntimeError(f"expected {code}, got {exc!r}") from exc
    else:
        raise RuntimeError(f"expected {code}, the call succeeded")


def _error_scenario(code: str, setup: Callable[[Stage], KliqsClient] | None = None) -> None:
    def script(stage: Stage) -> None:
        kliqs = setup(stage) if setup else stage.client(stage.account().key)
        with stage.capture():
            _expect(code, lambda: ERROR_CALLS[code](kliqs))

    scenario(f"errors/{code}")(script)


def _invalid_key(stage: Stage) -> KliqsClient:
    return stage.client("kliqs_sk_live_" + "0" * 32)


def _revoked_key(stage: Stage) -> KliqsClient:
    account = stage.account()
    stage.revoke(account)
    return stage.client(account.key)


def _quota_used_up(stage: Stage) -> KliqsClient:
    account = stage.account("free")
    stage.use_requests(account, 30)
    return stage.client(account.key)


def _burst_spent(stage: Stage) -> ApiAccount:
    """An account whose key just met the burst limit (call with the limiter's clock frozen)."""
    # GET /me is never counted but meets the burst limit like any request; with the
    # limiter's clock frozen, exactly burst_limit (20) of them pass.
    account = stage.account()
    spender = stage.client(account.key)
    for _ in range(1000):
        try:
            spender.me()
        except RateLimitedError:
            return account
    raise RuntimeError("1000 requests never met the burst limit: is the limiter's clock frozen?")


def _links_used_up(stage: Stage) -> KliqsClient:
    kliqs = stage.client(stage.account("free").key)
    _links(kliqs, *(f"produk-{n}" for n in range(5)))
    return kliqs


def _slug_taken(stage: Stage) -> KliqsClient:
    kliqs = stage.client(stage.account().key)
    _links(kliqs, "vps-murah")
    return kliqs


def _key_used(stage: Stage) -> KliqsClient:
    kliqs = stage.client(stage.account().key)
    kliqs.create_link("https://marketku.id/products/2", idempotency_key="order-42")
    return kliqs


_SETUPS: dict[str, Callable[[Stage], KliqsClient]] = {
    "INVALID_API_KEY": _invalid_key,
    "REVOKED_API_KEY": _revoked_key,
    "API_LIMIT_REACHED": _quota_used_up,
    "SHORTLINK_LIMIT_REACHED": _links_used_up,
    "SLUG_ALREADY_EXISTS": _slug_taken,
    "IDEMPOTENCY_KEY_REUSED": _key_used,
}
for _code in ERROR_CALLS:
    if _code not in ("UNAUTHORIZED", "RATE_LIMITED"):
        _error_scenario(_code, _SETUPS.get(_code))


@scenario("errors/RATE_LIMITED")
def _rate_limited(stage: Stage) -> None:
    with frozen_burst_clock():
        kliqs = stage.client(_burst_spent(stage).key)
        with stage.capture():
            _expect("RATE_LIMITED", lambda: ERROR_CALLS["RATE_LIMITED"](kliqs))


@scenario("errors/UNAUTHORIZED")
def _unauthorized(stage: Stage) -> None:
    # The SDK always sends its key; a proxy dropping the header is what this answer is for.
    with stage.capture():
        requests.post(f"{stage.server.url}/api/v1/links", json={"url": PRODUCT}, timeout=10)
