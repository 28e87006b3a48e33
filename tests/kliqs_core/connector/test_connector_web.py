"""The connector web app: health, webhook routing, raw bodies, size cap, error envelope."""

from __future__ import annotations

import asyncio
import contextvars
import gc
import sys
import threading
from collections.abc import AsyncIterator
from typing import Any

import httpx
from starlette.responses import PlainTextResponse, Response

from kliqs_core.connector import (
    ProductInput,
    WebhookRequest,
    accept_webhook,
    error_response,
    ok_response,
    register_webhook_route,
)
from kliqs_core.connector.inbox import find_product
from kliqs_core.connector.testing import TestRuntime
from kliqs_core.connector.web import create_app


def call(
    method: str, path: str, *, max_body_bytes: int | None = None, database: Any = None, **kw: Any
) -> httpx.Response:
    app = create_app(max_body_bytes=max_body_bytes, database=database)

    async def go() -> httpx.Response:
        transport = httpx.ASGITransport(app=app)
        async with httpx.AsyncClient(
            transport=transport, base_url="http://connector.test"
        ) as client:
            return await client.request(method, path, **kw)

    return asyncio.run(go())


def test_healthz_checks_the_database_and_lists_plugins(rt: TestRuntime) -> None:
    register_webhook_route("fakeshop", lambda _: ok_response())

    response = call("GET", "/healthz")

    assert response.status_code == 200
    assert response.json() == {
        "success": True,
        "data": {
            "database": "ok",
            "platforms": ["fakeshop"],
            "webhooks": ["fakeshop"],
            "notifiers": [],
        },
    }


def test_healthz_answers_503_when_the_database_is_down(rt: TestRuntime) -> None:
    class Down:
        def ping(self) -> None:
            raise OSError("disk gone")

    response = call("GET", "/healthz", database=Down())

    assert response.status_code == 503
    assert (
        response.json()["error"] == "DATABASE_UNAVAILABLE" and response.json()["success"] is False
    )


def test_handler_gets_the_raw_body_and_case_insensitive_headers(rt: TestRuntime) -> None:
    seen: list[WebhookRequest] = []

    def handler(request: WebhookRequest) -> Response:
        seen.append(request)
        return PlainTextResponse("ok")

    register_webhook_route("fakeshop", handler)
    body = b'{"b": 1,  "a":"\xc3\xa9"}'  # odd spacing: must reach the handler untouched

    response = call(
        "POST", "/webhooks/fakeshop?x=1", content=body, headers={"X-WC-Webhook-Signature": "sig"}
    )

    assert response.status_code == 200 and response.text == "ok"
    (request,) = seen
    assert request.body == body and request.platform == "fakeshop" and request.method == "POST"
    assert request.headers["x-wc-webhook-signature"] == "sig" and request.query["x"] == "1"


def test_sync_handlers_run_on_the_webhook_threads_with_the_callers_context(
    rt: TestRuntime,
) -> None:
    # Off the event loop (they write the database), on the executor's own threads.
    request_id: contextvars.ContextVar[str] = contextvars.ContextVar("request_id")
    seen: list[tuple[str, str]] = []

    def handler(_: WebhookRequest) -> Response:
        seen.append((threading.current_thread().name, request_id.get("unset")))
        return PlainTextResponse("ok")

    register_webhook_route("fakeshop", handler)

    async def marked(scope: Any, receive: Any, send: Any) -> None:
        request_id.set("r-1")
        await create_app()(scope, receive, send)

    async def go() -> int:
        transport = httpx.ASGITransport(app=marked)
        async with httpx.AsyncClient(transport=transport, base_url="http://c.test") as client:
            return (await client.post("/webhooks/fakeshop", content=b"{}")).status_code

    assert asyncio.run(go()) == 200
    ((thread, value),) = seen
    assert thread.startswith("kliqs-webhook") and value == "r-1"


def test_async_handlers_and_extra_methods(rt: TestRuntime) -> None:
    async def challenge(request: WebhookRequest) -> Response:
        return PlainTextResponse(request.query.get("hub.challenge", ""))

    register_webhook_route("whatsapp", challenge, methods=("GET", "POST"))

    response = call("GET", "/webhooks/whatsapp?hub.challenge=1158201444")
    assert response.status_code == 200 and response.text == "1158201444"


def test_unknown_platform_is_404_and_wrong_method_is_405_in_the_envelope(rt: TestRuntime) -> None:
    register_webhook_route("fakeshop", lambda _: ok_response())

    missing = call("POST", "/webhooks/nowhere", content=b"{}")
    wrong = call("GET", "/webhooks/fakeshop")
    no_route = call("GET", "/elsewhere")

    assert missing.status_code == 404 and missing.json()["error"] == "NOT_FOUND"
    assert wrong.status_code == 405 and wrong.json()["error"] == "METHOD_NOT_ALLOWED"
    assert wrong.headers["allow"] == "POST"
    assert no_route.status_code == 404 and no_route.json() == {
        "success": False,
        "error": "NOT_FOUND",
        "message": "Not Found",
    }


def test_paths_under_webhooks_that_name_no_platform_are_404(rt: TestRuntime) -> None:
    register_webhook_route("fakeshop", lambda _: ok_response())

    for path in ("/webhooks/", "/webhooks/fakeshop/extra", "/webhooks"):
        response = call("POST", path, content=b"{}")
        assert response.status_code == 404 and response.json()["error"] == "NOT_FOUND", path


def test_a_client_gone_before_its_body_ended_reaches_no_handler(rt: TestRuntime) -> None:
    calls: list[WebhookRequest] = []
    register_webhook_route("fakeshop", lambda request: calls.append(request) or ok_response())
    messages = [{"type": "http.request", "body": b'{"id":', "more_body": True},
                {"type": "http.disconnect"}]  # fmt: skip
    sent: list[dict[str, Any]] = []

    async def receive() -> dict[str, Any]:
        return messages.pop(0)

    async def send(message: dict[str, Any]) -> None:
        sent.append(message)

    scope = {"type": "http", "method": "POST", "path": "/webhooks/fakeshop", "headers": [],
             "query_string": b"", "client": ("127.0.0.1", 5000)}  # fmt: skip
    asyncio.run(create_app()(scope, receive, send))

    assert calls == [] and sent == []  # nobody to answer, nothing stored


def test_bodies_over_the_cap_are_refused_with_413(rt: TestRuntime) -> None:
    calls: list[bytes] = []
    register_webhook_route("fakeshop", lambda request: calls.append(request.body) or ok_response())

    declared = call("POST", "/webhooks/fakeshop", content=b"x" * 101, max_body_bytes=100)

    async def chunks() -> AsyncIterator[bytes]:
        for _ in range(3):
            yield b"y" * 40

    streamed = call("POST", "/webhooks/fakeshop", content=chunks(), max_body_bytes=100)
    fits = call("POST", "/webhooks/fakeshop", content=b"z" * 100, max_body_bytes=100)

    assert declared.status_code == 413 and declared.json()["error"] == "PAYLOAD_TOO_LARGE"
    assert streamed.status_code == 413  # no Content-Length: counted while reading
    assert fits.status_code == 200 and calls == [b"z" * 100]


def test_a_failing_handler_answers_500_in_the_envelope(rt: TestRuntime) -> None:
    def broken(_: WebhookRequest) -> Response:
        raise RuntimeError("database locked")

    register_webhook_route("fakeshop", broken)
    register_webhook_route("other", lambda _: "not a response")  # type: ignore[arg-type,return-value]

    for path in ("/webhooks/fakeshop", "/webhooks/other"):
        response = call("POST", path, content=b"{}")
        assert response.status_code == 500
        assert response.json() == {
            "success": False,
            "error": "INTERNAL_ERROR",
            "message": "The webhook could not be stored.",
        }


def test_a_handler_stores_and_queues_before_its_200(rt: TestRuntime) -> None:
    def handler(request: WebhookRequest) -> Response:
        if request.headers.get("x-signature") != "good":
            return error_response(401, "INVALID_SIGNATURE", "bad signature")
        accepted = accept_webhook(
            platform="fakeshop",
            shop="toko.test",
            delivery_id=request.headers["x-delivery"],
            topic="product.created",
            body=request.body,
            product=ProductInput("9", "Teh Tarik"),
        )
        return ok_response({"new": accepted.new})

    register_webhook_route("fakeshop", handler)

    bad = call(
        "POST",
        "/webhooks/fakeshop",
        content=b"{}",
        headers={"x-signature": "bad", "x-delivery": "1"},
    )
    assert bad.status_code == 401 and find_product("fakeshop", "toko.test", "9") is None
    good = call(
        "POST",
        "/webhooks/fakeshop",
        content=b"{}",
        headers={"x-signature": "good", "x-delivery": "1"},
    )
    again = call(
        "POST",
        "/webhooks/fakeshop",
        content=b"{}",
        headers={"x-signature": "good", "x-delivery": "1"},
    )

    assert good.json() == {"success": True, "data": {"new": True}}
    assert again.json() == {"success": True, "data": {"new": False}}
    assert len(rt.enqueued) == 1


def test_serving_freezes_what_start_up_built_out_of_garbage_collection() -> None:
    # A full collection over start-up's objects stalled every webhook in flight for 50-75 ms.
    from kliqs_core.connector.service import freeze_startup_objects

    gc.unfreeze()
    try:
        freeze_startup_objects()
        frozen = gc.get_freeze_count()
        assert "kliqs_core.connector.tasks" in sys.modules  # the publish path is loaded first
        assert frozen > 10_000 and frozen > len(gc.get_objects())
    finally:
        gc.unfreeze()
