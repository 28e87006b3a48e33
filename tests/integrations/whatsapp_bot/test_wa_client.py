"""WhatsAppClient: exact request bodies, headers and URL, typed results, input checks."""

from __future__ import annotations

import json

import httpx
import pytest

from integrations.whatsapp_bot.client import (
    SentMessage,
    WhatsAppClient,
    normalize_api_version,
)
from integrations.whatsapp_bot.errors import (
    RateLimitTimeout,
    ThroughputExceeded,
    UnexpectedResponse,
    WhatsAppConnectionError,
)

TO = "6281234567890"
ENVELOPE = {"messaging_product": "whatsapp", "recipient_type": "individual", "to": TO}


def test_send_text_posts_documented_body_to_versioned_messages_url(make_client, recorder):
    client = make_client()

    sent = client.send_text(TO, "Produk baru tersedia:\nVPS Murah\nhttps://kliqs.me/vps-murah")

    request = recorder.requests[0]
    assert request.method == "POST"
    assert str(request.url) == "https://graph.facebook.com/v23.0/106540352242922/messages"
    assert request.headers["Authorization"] == "Bearer test-token-not-real"
    assert request.headers["Content-Type"] == "application/json"
    assert recorder.body() == {
        **ENVELOPE,
        "type": "text",
        "text": {
            "preview_url": True,
            "body": "Produk baru tersedia:\nVPS Murah\nhttps://kliqs.me/vps-murah",
        },
    }
    assert sent == SentMessage(
        wamid="wamid.HBgNNjI4MTIzNDU2Nzg5MBUCABEYEjQ0RDU4QjI3MjFFRjQ2NUY3QgA=",
        wa_id=TO,
        message_status="accepted",
    )


def test_send_text_carries_callback_data_and_preview_flag(make_client, recorder):
    make_client().send_text(TO, "hai", preview_url=False, callback_data="product:42")

    assert recorder.body() == {
        **ENVELOPE,
        "type": "text",
        "text": {"preview_url": False, "body": "hai"},
        "biz_opaque_callback_data": "product:42",
    }


def test_send_template_fills_body_parameters_in_order(make_client, recorder):
    make_client().send_template(
        TO, "produk_baru", "id", ["VPS Murah", "https://kliqs.me/vps-murah"], callback_data="p:1"
    )

    assert recorder.body() == {
        **ENVELOPE,
        "type": "template",
        "template": {
            "name": "produk_baru",
            "language": {"code": "id"},
            "components": [
                {
                    "type": "body",
                    "parameters": [
                        {"type": "text", "text": "VPS Murah"},
                        {"type": "text", "text": "https://kliqs.me/vps-murah"},
                    ],
                }
            ],
        },
        "biz_opaque_callback_data": "p:1",
    }


def test_send_template_without_parameters_sends_no_components(make_client, recorder):
    make_client().send_template(TO, "hello_world", "en_US", [])

    assert recorder.body()["template"] == {"name": "hello_world", "language": {"code": "en_US"}}


def test_send_image_with_and_without_caption(make_client, recorder):
    client = make_client()
    client.send_image(TO, "https://cdn.example.id/p.jpg", caption="VPS Murah")
    client.send_image(TO, "https://cdn.example.id/q.jpg")

    assert recorder.body(0) == {
        **ENVELOPE,
        "type": "image",
        "image": {"link": "https://cdn.example.id/p.jpg", "caption": "VPS Murah"},
    }
    assert recorder.body(1) == {
        **ENVELOPE,
        "type": "image",
        "image": {"link": "https://cdn.example.id/q.jpg"},
    }


def test_send_buttons_builds_reply_buttons(make_client, recorder):
    make_client().send_buttons(TO, "Mau apa?", [("cmd_products", "PRODUK"), ("cmd_stop", "STOP")])

    assert recorder.body() == {
        **ENVELOPE,
        "type": "interactive",
        "interactive": {
            "type": "button",
            "body": {"text": "Mau apa?"},
            "action": {
                "buttons": [
                    {"type": "reply", "reply": {"id": "cmd_products", "title": "PRODUK"}},
                    {"type": "reply", "reply": {"id": "cmd_stop", "title": "STOP"}},
                ]
            },
        },
    }


@pytest.mark.parametrize(
    "buttons",
    [
        [],
        [("a", "A"), ("b", "B"), ("c", "C"), ("d", "D")],
        [("a", "x" * 21)],
        [("a", "A"), ("a", "B")],
        [("a", "A"), ("b", "A")],
        [("", "A")],
    ],
    ids=["none", "four", "title-21-chars", "duplicate-id", "duplicate-title", "empty-id"],
)
def test_send_buttons_refuses_what_meta_refuses(make_client, recorder, buttons):
    with pytest.raises(ValueError):
        make_client().send_buttons(TO, "Pilih", buttons)
    assert recorder.requests == []


def test_button_title_of_exactly_20_chars_is_allowed(make_client, recorder):
    make_client().send_buttons(TO, "Pilih", [("a", "x" * 20)])
    assert recorder.body()["interactive"]["action"]["buttons"][0]["reply"]["title"] == "x" * 20


@pytest.mark.parametrize(
    ("call", "message"),
    [
        (lambda c: c.send_text(TO, ""), "body must not be empty"),
        (lambda c: c.send_text(TO, "x" * 4097), "limit is 4096"),
        (lambda c: c.send_text("", "hai"), "recipient"),
        (lambda c: c.send_text(TO, "hai", callback_data="x" * 513), "limit is 512"),
        (lambda c: c.send_image(TO, "https://x.id/a.jpg", caption="x" * 1025), "limit is 1024"),
    ],
)
def test_invalid_input_fails_before_any_request(make_client, recorder, call, message):
    with pytest.raises(ValueError, match=message):
        call(make_client())
    assert recorder.requests == []


def test_text_of_exactly_4096_chars_is_sent(make_client, recorder):
    make_client().send_text(TO, "x" * 4096)
    assert len(recorder.body()["text"]["body"]) == 4096


def test_mark_read_posts_status_read(make_client, recorder):
    recorder.answers.append(httpx.Response(200, json={"success": True}))

    assert make_client().mark_read("wamid.IN1") is True
    assert recorder.body() == {
        "messaging_product": "whatsapp",
        "status": "read",
        "message_id": "wamid.IN1",
    }


def test_api_version_and_graph_url_are_configurable(make_client, recorder):
    make_client(api_version="21.0", graph_url="http://127.0.0.1:9/graph/").send_text(TO, "hai")

    assert (
        str(recorder.requests[0].url) == "http://127.0.0.1:9/graph/v21.0/106540352242922/messages"
    )


@pytest.mark.parametrize(
    ("given", "expected"), [("v23.0", "v23.0"), ("23.0", "v23.0"), (" v19.0 ", "v19.0")]
)
def test_normalize_api_version(given, expected):
    assert normalize_api_version(given) == expected


@pytest.mark.parametrize("bad", ["23", "latest", "v23.0.1", ""])
def test_normalize_api_version_rejects_garbage(bad):
    with pytest.raises(ValueError):
        normalize_api_version(bad)


def test_missing_credentials_fail_fast():
    with pytest.raises(ValueError, match="WHATSAPP_PHONE_NUMBER_ID"):
        WhatsAppClient("", "token")
    with pytest.raises(ValueError, match="WHATSAPP_ACCESS_TOKEN"):
        WhatsAppClient("123", "")


def test_injected_client_with_another_token_is_refused():
    http = httpx.Client(headers={"Authorization": "Bearer other"})
    with pytest.raises(ValueError, match="Authorization"):
        WhatsAppClient("123", "token", http=http)
    http.close()


def test_injected_client_is_reused_and_left_open(recorder):
    http = httpx.Client(transport=httpx.MockTransport(recorder))
    with WhatsAppClient("123", "token", http=http) as client:
        client.send_text(TO, "satu")
        client.send_text(TO, "dua")
    assert not http.is_closed  # the caller owns it
    assert [r.url.path for r in recorder.requests] == ["/v23.0/123/messages"] * 2
    http.close()


def test_own_client_is_closed_and_uses_timeout():
    client = WhatsAppClient("123", "token", timeout=3.5)
    http = client._http
    assert http.timeout == httpx.Timeout(3.5)
    client.close()
    assert http.is_closed


def test_transport_error_becomes_transient_connection_error_chained(make_client, recorder):
    cause = httpx.ConnectTimeout("timed out")
    recorder.answers.append(cause)

    with pytest.raises(WhatsAppConnectionError) as info:
        make_client().send_text(TO, "hai")

    assert info.value.__cause__ is cause
    assert info.value.is_transient
    assert info.value.code is None


def test_graph_error_is_raised_typed(make_client, recorder):
    recorder.answers.append(
        httpx.Response(
            429,
            json={
                "error": {
                    "message": "(#130429) Rate limit hit",
                    "type": "OAuthException",
                    "code": 130429,
                    "error_data": {
                        "messaging_product": "whatsapp",
                        "details": "Cloud API throughput reached",
                    },
                    "fbtrace_id": "AbCdEf",
                }
            },
        )
    )
    with pytest.raises(ThroughputExceeded) as info:
        make_client().send_text(TO, "hai")
    assert (info.value.http_status, info.value.fbtrace_id) == (429, "AbCdEf")


@pytest.mark.parametrize(
    "answer",
    [
        httpx.Response(200, text="<html>ok</html>"),
        httpx.Response(200, json=["not", "an", "object"]),
        httpx.Response(200, json={"messaging_product": "whatsapp", "messages": []}),
    ],
    ids=["not-json", "not-object", "no-wamid"],
)
def test_success_status_without_wamid_is_unexpected_and_not_transient(
    make_client, recorder, answer
):
    recorder.answers.append(answer)
    with pytest.raises(UnexpectedResponse) as info:
        make_client().send_text(TO, "hai")
    # The message may have gone out: retrying could send it twice.
    assert not info.value.is_transient


def test_answer_without_message_status_still_gives_wamid(make_client, recorder):
    recorder.answers.append(httpx.Response(200, json={"messages": [{"id": "wamid.X"}]}))
    assert make_client().send_text(TO, "hai") == SentMessage("wamid.X", None, None)


class _Limiter:
    def __init__(self, grant: bool) -> None:
        self.grant = grant
        self.calls: list[float | None] = []

    def acquire(self, timeout: float | None = None) -> bool:
        self.calls.append(timeout)
        return self.grant


def test_limiter_is_asked_before_each_send(make_client, recorder):
    limiter = _Limiter(grant=True)
    client = make_client(limiter=limiter, limiter_timeout=2.0)
    client.send_text(TO, "satu")
    client.send_template(TO, "t", "id", ["a"])

    assert limiter.calls == [2.0, 2.0]
    assert len(recorder.requests) == 2


def test_limiter_refusal_sends_nothing_and_is_transient(make_client, recorder):
    with pytest.raises(RateLimitTimeout) as info:
        make_client(limiter=_Limiter(grant=False)).send_text(TO, "hai")
    assert info.value.is_transient
    assert recorder.requests == []


def test_request_body_is_utf8_json(make_client, recorder):
    make_client().send_text(TO, "Kaos Batik Pria — ukuran L 👕")
    assert json.loads(recorder.requests[0].content.decode("utf-8"))["text"]["body"].endswith("👕")
