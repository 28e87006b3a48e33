"""``/webhooks/whatsapp`` on the connector app: handshake, signatures, storage, de-duplication."""

from __future__ import annotations

import json
from typing import Any

import pytest
from sqlalchemy import func, select
from wa_testkit import APP_SECRET, PHONE_ID, TEMPLATE, TOKEN, VERIFY_TOKEN, AppClient

from integrations.whatsapp_bot import context
from integrations.whatsapp_bot.models import InboundRecord, StatusRecord
from kliqs_core.connector.models import WebhookDelivery
from kliqs_core.connector.web import create_app
from tests.standins.whatsapp_standin import WhatsAppStandin

URL = "/webhooks/whatsapp"


@pytest.fixture
def wa_env(monkeypatch: pytest.MonkeyPatch) -> pytest.MonkeyPatch:
    values = {
        "WHATSAPP_PHONE_NUMBER_ID": PHONE_ID,
        "WHATSAPP_ACCESS_TOKEN": TOKEN,
        "WHATSAPP_APP_SECRET": APP_SECRET,
        "WHATSAPP_VERIFY_TOKEN": VERIFY_TOKEN,
        "WHATSAPP_TEMPLATE_NAME": TEMPLATE,
    }
    for name, value in values.items():
        monkeypatch.setenv(name, value)
    return monkeypatch


@pytest.fixture
def queued() -> list[tuple[str, int, float]]:
    return []


@pytest.fixture
def client(rt: Any, wa_env: Any, queued: list[Any]) -> AppClient:
    from integrations.whatsapp_bot import setup

    setup()
    context.set_enqueuer(lambda task, pk, countdown: queued.append((task, pk, countdown)))
    return AppClient(create_app())


@pytest.fixture
def meta() -> WhatsAppStandin:
    """Only its signed-delivery builders are used (it is never started)."""
    return WhatsAppStandin(app_secret=APP_SECRET, phone_number_id=PHONE_ID)


def _count(rt: Any, model: Any) -> int:
    with rt.database.transaction() as session:
        return int(session.scalar(select(func.count()).select_from(model)) or 0)


def test_verification_handshake_answers_the_raw_challenge(client: AppClient) -> None:
    params = {
        "hub.mode": "subscribe", "hub.verify_token": VERIFY_TOKEN, "hub.challenge": "1158201444"
    }

    response = client.get(URL, params=params)

    assert response.status_code == 200
    assert response.text == "1158201444"
    assert response.headers["content-type"].startswith("text/plain")


@pytest.mark.parametrize(
    "params",
    [
        {"hub.mode": "subscribe", "hub.verify_token": "wrong", "hub.challenge": "1"},
        {"hub.mode": "unsubscribe", "hub.verify_token": VERIFY_TOKEN, "hub.challenge": "1"},
        {"hub.challenge": "1"},
        {},
    ],
)
def test_verification_with_wrong_mode_or_token_is_403(
    client: AppClient, params: dict[str, str]
) -> None:
    response = client.get(URL, params=params)

    assert response.status_code == 403
    assert response.json()["error"] == "FORBIDDEN"  # never the challenge


def test_forged_signature_is_401_and_nothing_is_stored(
    client: AppClient, rt: Any, meta: WhatsAppStandin, queued: list[Any]
) -> None:
    body, headers = meta.inbound_text_delivery("6281234567890", "DAFTAR")
    forged = {**headers, "X-Hub-Signature-256": "sha256=" + "0" * 64}
    tampered = body.replace(b"DAFTAR", b"STOP!!")

    responses = [
        client.post(URL, content=body, headers=forged),
        client.post(URL, content=tampered, headers=headers),
        client.post(URL, content=body, headers={"Content-Type": "application/json"}),
    ]

    assert [r.status_code for r in responses] == [401, 401, 401]
    assert responses[0].json()["error"] == "INVALID_SIGNATURE"
    assert _count(rt, InboundRecord) == _count(rt, StatusRecord) == 0
    assert _count(rt, WebhookDelivery) == 0
    assert queued == []


def test_inbound_message_is_stored_and_queued_once(
    client: AppClient, rt: Any, meta: WhatsAppStandin, queued: list[Any]
) -> None:
    body, headers = meta.inbound_text_delivery("6281234567890", "DAFTAR", wamid="wamid.IN1")

    first = client.post(URL, content=body, headers=headers)
    again = client.post(URL, content=body, headers=headers)

    assert first.status_code == again.status_code == 200
    assert first.json()["data"]["messages"] == 1
    assert again.json()["data"] == {"messages": 0, "statuses": 0, "duplicates": 1, "ignored": 0}
    assert _count(rt, InboundRecord) == 1
    assert [task for task, _, _ in queued] == ["inbound"]


def test_statuses_are_stored_per_message_and_status(
    client: AppClient, rt: Any, meta: WhatsAppStandin, queued: list[Any]
) -> None:
    deliveries = [
        meta.status_delivery("wamid.A", "delivered"),
        meta.status_delivery("wamid.A", "sent"),
        meta.status_delivery("wamid.A", "delivered"),  # a duplicate
        meta.status_delivery("wamid.A", "failed", errors=[(131026, "Message undeliverable")]),
    ]

    codes = [client.post(URL, content=b, headers=h).status_code for b, h in deliveries]

    assert codes == [200, 200, 200, 200]
    with rt.database.transaction() as session:
        rows = session.execute(
            select(StatusRecord.status, StatusRecord.error_code).order_by(StatusRecord.id)
        ).all()
    assert rows == [("delivered", None), ("sent", None), ("failed", 131026)]
    assert [task for task, _, _ in queued] == ["status"] * 3


def test_recorded_fixture_with_signature_is_accepted(
    client: AppClient, rt: Any, load_fixture: Any, meta: WhatsAppStandin
) -> None:
    body = load_fixture("text_message.json")

    response = client.post(URL, content=body, headers={"X-Hub-Signature-256": meta.sign(body)})

    assert response.status_code == 200
    with rt.database.transaction() as session:
        [row] = session.scalars(select(InboundRecord)).all()
        assert (row.sender, row.text) == ("6281234567890", "  daftar ")
        assert row.contact_name == "Budi Santoso"
        assert row.sent_at.timestamp() == 1732430000


def test_updates_for_another_number_are_ignored(
    client: AppClient, rt: Any, meta: WhatsAppStandin
) -> None:
    other = WhatsAppStandin(app_secret=APP_SECRET, phone_number_id="999999999")
    body, headers = other.inbound_text_delivery("6281234567890", "DAFTAR")

    response = client.post(URL, content=body, headers=headers)

    assert response.json()["data"]["ignored"] == 1
    assert _count(rt, InboundRecord) == 0


def test_signed_but_malformed_body_is_kept_as_rejected_and_answered_200(
    client: AppClient, rt: Any, meta: WhatsAppStandin, queued: list[Any]
) -> None:
    body = json.dumps({"object": "page", "entry": []}).encode()

    response = client.post(URL, content=body, headers={"X-Hub-Signature-256": meta.sign(body)})

    assert response.status_code == 200
    with rt.database.transaction() as session:
        [row] = session.scalars(select(WebhookDelivery)).all()
        assert (row.platform, row.status) == ("whatsapp", "rejected")
    assert queued == []


def test_other_methods_are_405(client: AppClient) -> None:
    assert client.put(URL, content=b"{}").status_code == 405
