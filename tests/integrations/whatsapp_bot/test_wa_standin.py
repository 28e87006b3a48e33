"""The client against the Graph API stand-in over real HTTP, and the stand-in's own promises."""

from __future__ import annotations

import concurrent.futures
import json
import socket
import subprocess
import sys
from pathlib import Path

import httpx
import pytest

from integrations.whatsapp_bot.client import SentMessage, WhatsAppClient
from integrations.whatsapp_bot.commands import Command, parse_command
from integrations.whatsapp_bot.errors import (
    AccessTokenInvalid,
    Action,
    InvalidParameter,
    PairRateLimit,
    ServiceUnavailable,
    ThroughputExceeded,
    WhatsAppConnectionError,
)
from integrations.whatsapp_bot.ratelimit import TokenBucket
from integrations.whatsapp_bot.webhooks import (
    InboundMessage,
    StatusUpdate,
    parse_notification,
    verify_signature,
)

PNID = "106540352242922"
TOKEN = "test-token-not-real"
TO = "+62 812-3456-7890"
STANDIN_SCRIPT = Path(__file__).resolve().parents[2] / "standins" / "whatsapp_standin.py"


@pytest.fixture
def client(standin):
    with WhatsAppClient(PNID, TOKEN, graph_url=standin.url, timeout=5) as wa:
        yield wa


def test_every_kind_of_message_reaches_the_standin_as_sent(client, standin):
    sent = [
        client.send_text(TO, "Produk baru tersedia:\nVPS Murah\nhttps://kliqs.me/vps-murah"),
        client.send_template(TO, "produk_baru", "id", ["VPS Murah", "https://kliqs.me/vps-murah"]),
        client.send_image(TO, "https://cdn.example.id/vps.jpg", caption="VPS Murah"),
        client.send_buttons(TO, "Pilih:", [("cmd_products", "PRODUK"), ("cmd_stop", "STOP")]),
    ]

    recorded = standin.messages
    assert [m.type for m in recorded] == ["text", "template", "image", "interactive"]
    assert [m.wamid for m in recorded] == [s.wamid for s in sent]
    assert len({s.wamid for s in sent}) == 4 and all(s.wamid.startswith("wamid.") for s in sent)
    assert all(s.wa_id == "6281234567890" and s.message_status == "accepted" for s in sent)
    assert {(m.api_version, m.phone_number_id, m.to) for m in recorded} == {("v23.0", PNID, TO)}
    assert recorded[1].body["template"]["components"][0]["parameters"][1] == {
        "type": "text",
        "text": "https://kliqs.me/vps-murah",
    }
    arrivals = [m.arrived_at for m in recorded]
    assert arrivals == sorted(arrivals)


def test_mark_read_is_recorded_apart_from_messages(client, standin):
    assert client.mark_read("wamid.IN1") is True
    assert standin.reads == ["wamid.IN1"]
    assert standin.messages == []


def test_wrong_token_is_refused_with_190(standin):
    with (
        WhatsAppClient(PNID, "stolen", graph_url=standin.url) as wa,
        pytest.raises(AccessTokenInvalid) as info,
    ):
        wa.send_text(TO, "hai")
    assert info.value.http_status == 401
    assert info.value.action is Action.STOP
    assert standin.messages == []


def test_unknown_phone_number_id_is_refused_with_100(standin):
    with (
        WhatsAppClient("999", TOKEN, graph_url=standin.url) as wa,
        pytest.raises(InvalidParameter) as info,
    ):
        wa.send_text(TO, "hai")
    assert info.value.subcode == 33


def test_programmed_throughput_errors_then_success(client, standin):
    standin.fail_next(130429, times=2, http_status=429)

    for _ in range(2):
        with pytest.raises(ThroughputExceeded) as info:
            client.send_text(TO, "hai")
        assert info.value.is_transient and info.value.http_status == 429
    sent = client.send_text(TO, "hai")

    assert [m.wamid for m in standin.messages] == [sent.wamid]
    assert [(a.status, a.error_code) for a in standin.attempts] == [
        (429, 130429),
        (429, 130429),
        (200, None),
    ]


def test_programmed_failures_queue_in_order(client, standin):
    standin.fail_next(131056)
    standin.fail_next(131016, http_status=503, details="try later")

    with pytest.raises(PairRateLimit):
        client.send_text(TO, "satu")
    with pytest.raises(ServiceUnavailable) as info:
        client.send_text(TO, "dua")
    assert info.value.details == "try later"
    assert isinstance(client.send_text(TO, "tiga"), SentMessage)


def test_standin_validates_like_meta(standin):
    headers = {"Authorization": f"Bearer {TOKEN}"}
    url = f"{standin.url}/v23.0/{PNID}/messages"
    buttons = [{"type": "reply", "reply": {"id": str(i), "title": str(i)}} for i in range(4)]
    bad_bodies = [
        {"to": TO, "type": "text", "text": {"body": "hai"}},  # no messaging_product
        {"messaging_product": "whatsapp", "type": "text", "text": {"body": "hai"}},  # no to
        {"messaging_product": "whatsapp", "to": TO, "type": "text", "text": {"body": ""}},
        {
            "messaging_product": "whatsapp",
            "to": TO,
            "type": "interactive",
            "interactive": {
                "type": "button",
                "body": {"text": "x"},
                "action": {"buttons": buttons},
            },
        },
    ]
    codes = []
    for body in bad_bodies:
        answer = httpx.post(url, json=body, headers=headers)
        assert answer.status_code == 400
        codes.append(answer.json()["error"]["code"])
    assert codes == [100, 100, 100, 131009]
    assert standin.messages == []


def test_stopped_standin_gives_connection_error(standin):
    url = standin.url
    standin.stop()
    with WhatsAppClient(PNID, TOKEN, graph_url=url, timeout=2) as wa:
        with pytest.raises(WhatsAppConnectionError) as info:
            wa.send_text(TO, "hai")
    assert isinstance(info.value.__cause__, httpx.ConnectError)


def test_signed_status_delivery_round_trips_through_webhooks(client, standin):
    sent = client.send_text(TO, "hai", callback_data="product:42")
    body, headers = standin.status_delivery(
        sent.wamid, "failed", errors=[(131047, "Re-engagement message")], callback_data="product:42"
    )

    assert verify_signature(body, headers["X-Hub-Signature-256"], "s3cret")
    assert not verify_signature(body, headers["X-Hub-Signature-256"], "other")
    [update] = parse_notification(body)
    assert isinstance(update, StatusUpdate)
    assert (update.wamid, update.status, update.callback_data) == (
        sent.wamid,
        "failed",
        "product:42",
    )
    assert update.failure_action is Action.SEND_TEMPLATE


def test_signed_inbound_delivery_parses_to_a_command(standin):
    body, headers = standin.inbound_text_delivery("6281234567890", " Daftar ", name="Siti")

    assert verify_signature(body, headers["X-Hub-Signature-256"], "s3cret")
    [message] = parse_notification(body)
    assert isinstance(message, InboundMessage)
    assert (message.from_, message.contact_name, message.phone_number_id) == (
        "6281234567890",
        "Siti",
        PNID,
    )
    assert parse_command(message.text) is Command.SUBSCRIBE


def test_shared_limiter_paces_sends_seen_by_the_standin(standin):
    bucket = TokenBucket(50, capacity=5)
    with WhatsAppClient(PNID, TOKEN, graph_url=standin.url, limiter=bucket) as wa:
        for i in range(15):
            wa.send_text(TO, f"pesan {i}")

    arrivals = [m.arrived_at for m in standin.messages]
    assert len(arrivals) == 15
    # 5 at once, then 10 more at 50/s: at least 0.2 s from the first to the last.
    assert arrivals[-1] - arrivals[0] >= 0.18


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@pytest.mark.timeout(60)
def test_command_line_standin_serves_and_can_be_driven_over_http():
    port = _free_port()
    process = subprocess.Popen(
        [sys.executable, str(STANDIN_SCRIPT), "--port", str(port), "--token", TOKEN],
        stdout=subprocess.PIPE,
        text=True,
    )
    try:
        assert process.stdout is not None
        assert process.stdout.readline().strip() == f"WhatsApp stand-in on http://127.0.0.1:{port}"
        base = f"http://127.0.0.1:{port}"
        httpx.post(f"{base}/_standin/fail", json={"code": 131048, "http_status": 400})
        with WhatsAppClient(PNID, TOKEN, graph_url=base) as wa:
            with pytest.raises(Exception) as info:
                wa.send_text(TO, "satu")
            assert info.value.code == 131048  # type: ignore[attr-defined]
            sent = wa.send_text(TO, "dua")
        recorded = httpx.get(f"{base}/_standin/messages").json()
        assert [m["wamid"] for m in recorded["messages"]] == [sent.wamid]
        assert recorded["messages"][0]["body"]["text"] == {"preview_url": True, "body": "dua"}
        assert json.loads(httpx.post(f"{base}/_standin/reset").text) == {"ok": True}
        assert httpx.get(f"{base}/_standin/messages").json()["messages"] == []
    finally:
        process.terminate()
        process.wait(timeout=10)
        if process.stdout is not None:
            process.stdout.close()


def test_wamids_stay_unique_under_concurrent_sends(standin):
    with WhatsAppClient(PNID, TOKEN, graph_url=standin.url) as wa:
        with concurrent.futures.ThreadPoolExecutor(max_workers=4) as pool:
            sent = list(pool.map(lambda i: wa.send_text(TO, f"m{i}"), range(20)))
    assert len({s.wamid for s in sent}) == 20
    assert sorted(m.body["text"]["body"] for m in standin.messages) == sorted(
        f"m{i}" for i in range(20)
    )
