"""The per-product state machine with a fake platform and a fake Kliqs client."""

from __future__ import annotations

import time
from datetime import UTC, datetime

import pytest

from kliqs_core.connector import ProductInput, accept_webhook, register_notifier
from kliqs_core.connector.claims import claim_product
from kliqs_core.connector.inbox import find_product
from kliqs_core.connector.models import InboxStatus, WebhookDelivery
from kliqs_core.connector.pipeline import PipelineConfig, idempotency_key, run_product
from kliqs_core.connector.platforms import PermanentPlatformError, TransientPlatformError
from kliqs_core.connector.records import ProductRecord
from kliqs_core.connector.testing import FakeLink, FakePlatform, TestRuntime
from kliqs_core.errors import (
    ApiLimitReachedError,
    InvalidSlugError,
    InvalidUrlError,
    KliqsConnectionError,
    RateLimitedError,
    ReservedSlugError,
    ServerError,
    ShortlinkLimitReachedError,
)

SHOP = "toko.test"


def store(
    rt: TestRuntime, product_id: str = "42", title: str = "VPS Murah", delivery: str = "d1"
) -> int:
    accepted = accept_webhook(
        platform="fakeshop",
        shop=SHOP,
        delivery_id=delivery,
        topic="product.created",
        body=b"{}",
        product=ProductInput(product_id, title, f"https://{SHOP}/p/{product_id}"),
    )
    assert accepted.product_pk is not None
    return accepted.product_pk


def run(rt: TestRuntime, pk: int, **config: object) -> str:
    settings = PipelineConfig.from_settings(rt.settings)
    cfg = PipelineConfig(**{**settings.__dict__, **config})  # type: ignore[arg-type]
    return run_product(
        pk, database=rt.database, client=lambda: rt.client, config=cfg, jitter=lambda: 0.0
    ).kind


def product(rt: TestRuntime, product_id: str = "42") -> ProductRecord:
    found = find_product("fakeshop", SHOP, product_id)
    assert found is not None
    return found


def test_new_product_goes_through_every_step_once(rt: TestRuntime, platform: FakePlatform) -> None:
    notified: list[ProductRecord] = []
    register_notifier("list", notified.append)
    pk = store(rt)

    assert run(rt, pk) == "done"

    done = product(rt)
    assert done.state == "notified" and done.short_url == "https://kliqs.test/vps-murah"
    assert done.link_id == "link-1" and done.short_code == "vps-murah"
    assert [call["url"] for call in rt.client.calls] == ["https://toko.test/p/42"]
    assert rt.client.calls[0]["idempotency_key"] == idempotency_key("fakeshop", SHOP, "42", 0)
    assert platform.written == [("42", "https://kliqs.test/vps-murah")]
    assert [(n.product_id, n.short_url) for n in notified] == [
        ("42", "https://kliqs.test/vps-murah")
    ]
    with rt.database.transaction() as session:
        assert session.get(WebhookDelivery, 1).status == InboxStatus.PROCESSED  # type: ignore[union-attr]


def test_finished_product_is_skipped_without_any_call(
    rt: TestRuntime, platform: FakePlatform
) -> None:
    pk = store(rt)
    run(rt, pk)

    assert run(rt, pk) == "skipped"
    assert len(rt.client.calls) == 1 and len(platform.written) == 1


def test_server_error_is_retried_with_the_same_request_then_succeeds(rt: TestRuntime) -> None:
    rt.client.errors.append(ServerError(503, "SERVICE_UNAVAILABLE", "down"))
    pk = store(rt)

    assert run(rt, pk) == "retry"
    waiting = product(rt)
    assert waiting.state == "received" and waiting.attempts == 1
    assert waiting.last_error_code == "SERVICE_UNAVAILABLE"
    assert run(rt, pk) == "done"
    first, second = rt.client.calls
    assert first == second  # same body and Idempotency-Key: the API would replay, not double
    assert product(rt).attempts == 0 and product(rt).last_error_code is None


def test_retry_countdown_doubles_from_the_stored_attempt_count(rt: TestRuntime) -> None:
    rt.client.errors += [KliqsConnectionError("timeout"), KliqsConnectionError("timeout")]
    pk = store(rt)
    config = PipelineConfig(retry_base=2.0, retry_cap=600.0, max_attempts=5)
    outcomes = [
        run_product(
            pk, database=rt.database, client=lambda: rt.client, config=config, jitter=lambda: 1.0
        )
        for _ in range(2)
    ]

    assert [(o.kind, o.code, o.countdown) for o in outcomes] == [
        ("retry", "CONNECTION_ERROR", 2.0),
        ("retry", "CONNECTION_ERROR", 4.0),
    ]


def test_rate_limit_waits_at_least_retry_after(rt: TestRuntime) -> None:
    rt.client.errors.append(
        RateLimitedError(429, "RATE_LIMITED", "slow down", headers={"Retry-After": "30"})
    )
    pk = store(rt)

    outcome = run_product(
        pk, database=rt.database, client=lambda: rt.client, config=PipelineConfig(retry_base=1)
    )
    assert outcome.kind == "retry" and outcome.countdown == 30


def test_transient_errors_fail_the_product_after_max_attempts(rt: TestRuntime) -> None:
    rt.client.errors += [ServerError(500, "INTERNAL_ERROR", "boom") for _ in range(4)]
    pk = store(rt)

    assert [run(rt, pk, max_attempts=3) for _ in range(3)] == ["retry", "retry", "failed"]
    failed = product(rt)
    assert failed.state == "failed" and failed.last_error_code == "INTERNAL_ERROR"
    assert (
        failed.last_error_message is not None
        and "gave up after 3 attempts" in failed.last_error_message
    )


def test_taken_slug_moves_to_the_next_suffix(rt: TestRuntime) -> None:
    rt.client.taken_slugs |= {"vps-murah", "vps-murah-2"}
    pk = store(rt)

    assert run(rt, pk) == "done"
    assert [call["slug"] for call in rt.client.calls] == ["vps-murah", "vps-murah-2", "vps-murah-3"]
    keys = {call["idempotency_key"] for call in rt.client.calls}
    assert len(keys) == 3  # each slug attempt has its own key: another body, another key
    assert (
        product(rt).short_url == "https://kliqs.test/vps-murah-3" and product(rt).slug_attempt == 2
    )


def test_slug_attempts_are_bounded_then_kliqs_generates_the_code(rt: TestRuntime) -> None:
    rt.client.taken_slugs |= {"vps-murah", "vps-murah-2"}
    pk = store(rt)

    assert run(rt, pk, slug_max_attempts=2) == "done"
    assert [call["slug"] for call in rt.client.calls] == ["vps-murah", "vps-murah-2", None]
    assert product(rt).short_code is not None and product(rt).short_code.startswith("gen")  # type: ignore[union-attr]


def test_reserved_slug_tries_the_suffixed_one(rt: TestRuntime) -> None:
    rt.client.errors.append(ReservedSlugError(400, "RESERVED_SLUG", "reserved"))
    pk = store(rt, title="Login")

    assert run(rt, pk) == "done"
    assert [call["slug"] for call in rt.client.calls] == ["login", "login-2"]


def test_invalid_slug_falls_back_to_a_generated_code(rt: TestRuntime) -> None:
    rt.client.errors.append(InvalidSlugError(400, "INVALID_SLUG", "bad slug"))
    pk = store(rt)

    assert run(rt, pk) == "done"
    assert [call["slug"] for call in rt.client.calls] == ["vps-murah", None]


def test_slug_strategy_none_lets_kliqs_generate(rt: TestRuntime) -> None:
    pk = store(rt)

    assert run(rt, pk, slug_strategy="none") == "done"
    assert rt.client.calls[0]["slug"] is None


def test_api_limit_parks_until_the_reset_without_retrying(rt: TestRuntime) -> None:
    reset = datetime(2026, 12, 1, tzinfo=UTC)
    rt.client.errors.append(
        ApiLimitReachedError(
            429,
            "API_LIMIT_REACHED",
            "monthly limit",
            headers={"X-RateLimit-Reset": str(int(reset.timestamp())), "Retry-After": "600"},
        )
    )
    pk = store(rt)

    assert run(rt, pk) == "parked"
    parked = product(rt)
    assert parked.state == "parked" and parked.last_error_code == "API_LIMIT_REACHED"
    assert parked.parked_until == reset
    assert run(rt, pk) == "skipped" and len(rt.client.calls) == 1


def test_shortlink_limit_parks_with_no_reset(rt: TestRuntime) -> None:
    rt.client.errors.append(ShortlinkLimitReachedError(403, "SHORTLINK_LIMIT_REACHED", "plan full"))
    pk = store(rt)

    assert run(rt, pk) == "parked"
    parked = product(rt)
    assert (parked.state, parked.last_error_code, parked.parked_until) == (
        "parked",
        "SHORTLINK_LIMIT_REACHED",
        None,
    )


def test_other_4xx_fails_visibly_with_its_code(rt: TestRuntime, platform: FakePlatform) -> None:
    rt.client.errors.append(InvalidUrlError(400, "INVALID_URL", "url is not valid"))
    pk = store(rt)

    assert run(rt, pk) == "failed"
    failed = product(rt)
    assert (failed.state, failed.last_error_code, failed.last_error_message) == (
        "failed",
        "INVALID_URL",
        "url is not valid",
    )
    assert len(rt.client.calls) == 1 and platform.written == []


def test_write_back_retry_never_creates_a_second_link(
    rt: TestRuntime, platform: FakePlatform
) -> None:
    platform.errors.append(TransientPlatformError("HTTP_502", "bad gateway"))
    pk = store(rt)

    assert run(rt, pk) == "retry"
    assert product(rt).state == "shortened" and product(rt).last_error_code == "HTTP_502"
    assert run(rt, pk) == "done"
    assert len(rt.client.calls) == 1 and len(rt.client.links) == 1
    assert platform.written == [("42", "https://kliqs.test/vps-murah")]


def test_permanent_write_back_error_fails_and_retry_resumes_at_write_back(
    rt: TestRuntime, platform: FakePlatform
) -> None:
    from kliqs_core.connector.operations import prepare_retry

    platform.errors.append(PermanentPlatformError("WOO_401", "consumer key rejected"))
    pk = store(rt)
    assert run(rt, pk) == "failed"
    assert (product(rt).state, product(rt).last_error_code) == ("failed", "WOO_401")

    assert prepare_retry(rt.database, all_failed=True).queued == (pk,)
    assert product(rt).state == "shortened"
    assert run(rt, pk) == "done"
    assert len(rt.client.calls) == 1 and platform.written == [
        ("42", "https://kliqs.test/vps-murah")
    ]


def test_unregistered_platform_fails_with_a_code(rt: TestRuntime) -> None:
    accepted = accept_webhook(
        platform="nowhere",
        shop=SHOP,
        delivery_id="x",
        topic="t",
        body=b"",
        product=ProductInput("1", "A B C"),
    )
    assert accepted.product_pk is not None

    assert run(rt, accepted.product_pk) == "failed"
    stored = find_product("nowhere", SHOP, "1")
    assert stored is not None and stored.last_error_code == "PLATFORM_NOT_REGISTERED"


def test_notifier_errors_retry_or_fail(rt: TestRuntime) -> None:
    failures = [
        TransientPlatformError("WA_130429", "throughput"),
        PermanentPlatformError("WA_190", "token"),
    ]
    calls: list[str] = []

    def notifier(record: ProductRecord) -> None:
        calls.append(record.product_id)
        raise failures.pop(0)

    register_notifier("wa", notifier)
    pk = store(rt)

    assert run(rt, pk) == "retry" and product(rt).state == "written_back"
    assert run(rt, pk) == "failed" and product(rt).last_error_code == "WA_190"
    assert calls == ["42", "42"] and len(rt.client.calls) == 1


def test_unexpected_exception_in_a_plugin_is_retried_not_lost(
    rt: TestRuntime, platform: FakePlatform
) -> None:
    platform.errors.append(RuntimeError("bug"))
    pk = store(rt)

    assert run(rt, pk) == "retry"
    assert product(rt).last_error_code == "UNEXPECTED_ERROR"
    assert run(rt, pk) == "done"


class _Crash(BaseException):
    """Stands for the process dying: nothing after it runs."""


def test_crash_after_the_api_created_the_link_replays_it(rt: TestRuntime) -> None:
    real = rt.client

    class CrashingClient:
        def create_link(self, url: str, **kwargs: object) -> FakeLink:
            real.create_link(url, **kwargs)  # type: ignore[arg-type]
            raise _Crash

    pk = store(rt)
    with pytest.raises(_Crash):
        run_product(pk, database=rt.database, client=CrashingClient, config=PipelineConfig())
    assert product(rt).state == "received" and product(rt).short_url is None

    assert run(rt, pk) == "done"
    assert len(real.links) == 1  # the resent request was replayed, no second link
    assert product(rt).short_url == "https://kliqs.test/vps-murah"


def test_a_title_change_after_a_crash_still_replays_the_stored_request(rt: TestRuntime) -> None:
    real = rt.client

    class CrashingClient:
        def create_link(self, url: str, **kwargs: object) -> FakeLink:
            real.create_link(url, **kwargs)  # type: ignore[arg-type]
            raise _Crash

    pk = store(rt, title="VPS Murah")
    with pytest.raises(_Crash):
        run_product(pk, database=rt.database, client=CrashingClient, config=PipelineConfig())
    store(rt, title="VPS Murah Sekali", delivery="d2")  # the seller edits the title meanwhile

    assert run(rt, pk) == "done"
    first, second = real.calls
    assert first == second  # same body and key: a replay, not IDEMPOTENCY_KEY_REUSED
    assert len(real.links) == 1 and product(rt).short_url == "https://kliqs.test/vps-murah"


def test_a_claimed_product_is_skipped_by_another_worker(rt: TestRuntime) -> None:
    pk = store(rt)
    held = claim_product(rt.database, pk, worker="A", lease_seconds=60, grace_seconds=1)
    assert held is not None

    outcome = run_product(
        pk, database=rt.database, client=lambda: rt.client, config=PipelineConfig(), worker="B"
    )
    assert outcome.kind == "skipped"
    assert rt.client.calls == []


def test_an_expired_claim_is_taken_over_and_the_slow_worker_stops(rt: TestRuntime) -> None:
    pk = store(rt)
    slow = claim_product(rt.database, pk, worker="A", lease_seconds=0.001, grace_seconds=1)
    assert slow is not None
    time.sleep(0.01)
    fast = claim_product(rt.database, pk, worker="B", lease_seconds=60, grace_seconds=1)

    assert fast is not None
    assert slow.update("received", title="changed by A") is False
    assert fast.update("received", title="changed by B") is True
    assert product(rt).title == "changed by B"
