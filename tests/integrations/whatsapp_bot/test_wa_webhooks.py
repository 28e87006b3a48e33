"""Webhook challenge, signature and parsing, against deliveries in Meta's documented shape."""

from __future__ import annotations

import dataclasses
import hashlib
import hmac
import json
from datetime import UTC, datetime

import pytest

from integrations.whatsapp_bot.errors import Action
from integrations.whatsapp_bot.webhooks import (
    InboundMessage,
    MalformedPayload,
    StatusError,
    StatusUpdate,
    parse_notification,
    sign,
    verify_challenge,
    verify_signature,
)

PNID = "106540352242922"
USER = "6281234567890"
SENT_WAMID = "wamid.HBgNNjI4MTIzNDU2Nzg5MBUCABEYEjQ0RDU4QjI3MjFFRjQ2NUY3QgA="

# ---- verify_challenge ------------------------------------------------------------------------


def test_challenge_is_echoed_for_subscribe_with_right_token():
    params = {"hub.mode": "subscribe", "hub.verify_token": "rahasia", "hub.challenge": "1158201444"}
    assert verify_challenge(params, "rahasia") == "1158201444"


@pytest.mark.parametrize(
    "params",
    [
        {"hub.mode": "subscribe", "hub.verify_token": "salah", "hub.challenge": "1"},
        {"hub.mode": "unsubscribe", "hub.verify_token": "rahasia", "hub.challenge": "1"},
        {"hub.verify_token": "rahasia", "hub.challenge": "1"},
        {"hub.mode": "subscribe", "hub.challenge": "1"},
        {"hub.mode": "subscribe", "hub.verify_token": "rahasia"},
        {"hub.mode": "subscribe", "hub.verify_token": "rahasia", "hub.challenge": ""},
        {},
    ],
    ids=[
        "wrong-token",
        "wrong-mode",
        "no-mode",
        "no-token",
        "no-challenge",
        "empty-challenge",
        "empty",
    ],
)
def test_challenge_is_refused(params):
    assert verify_challenge(params, "rahasia") is None


def test_unconfigured_verify_token_refuses_even_an_empty_token():
    assert (
        verify_challenge(
            {"hub.mode": "subscribe", "hub.verify_token": "", "hub.challenge": "1"}, ""
        )
        is None
    )


# ---- verify_signature --------------------------------------------------------------------------


def test_signature_of_raw_body_is_accepted(load_fixture):
    body = load_fixture("text_message.json")
    header = "sha256=" + hmac.new(b"app-secret", body, hashlib.sha256).hexdigest()
    assert sign(body, "app-secret") == header
    assert verify_signature(body, header, "app-secret")
    assert verify_signature(body, header.upper().replace("SHA256=", "sha256="), "app-secret")


@pytest.mark.parametrize(
    "header",
    [
        None,
        "",
        "sha256=",
        "sha1=" + "0" * 40,
        "sha256=" + "0" * 64,
        "sha256=not-hex",
        hmac.new(b"app-secret", b"{}", hashlib.sha256).hexdigest(),  # no prefix
    ],
    ids=["missing", "empty", "no-digest", "sha1", "forged", "garbage", "no-prefix"],
)
def test_bad_signature_headers_are_refused(header):
    assert not verify_signature(b"{}", header, "app-secret")


def test_signature_over_a_changed_body_or_other_secret_is_refused(load_fixture):
    body = load_fixture("text_message.json")
    header = sign(body, "app-secret")
    assert not verify_signature(body.replace(b"daftar", b"stop"), header, "app-secret")
    assert not verify_signature(body, header, "other-secret")
    # Re-serialised JSON is not the raw body Meta signed.
    assert not verify_signature(json.dumps(json.loads(body)).encode(), header, "app-secret")


def test_empty_app_secret_fails_closed():
    assert not verify_signature(b"{}", sign(b"{}", ""), "")


# ---- parse_notification -----------------------------------------------------------------------


def test_text_message(load_fixture):
    [message] = parse_notification(load_fixture("text_message.json"))
    assert message == InboundMessage(
        wamid="wamid.HBgNNjI4MTIzNDU2Nzg5MBUCABIYFjNFQjBDMEQ5RjE3QjQ1QTY0RkZGAA==",
        from_=USER,
        timestamp=datetime(2024, 11, 24, 6, 33, 20, tzinfo=UTC),
        type="text",
        text="  daftar ",
        payload=None,
        contact_name="Budi Santoso",
        phone_number_id=PNID,
    )
    assert message.timestamp.tzinfo is not None
    assert message.dedup_key == f"message:{message.wamid}"


def test_interactive_button_reply_gives_title_and_id(load_fixture):
    [message] = parse_notification(load_fixture("button_reply.json"))
    assert (message.type, message.text, message.payload) == (
        "interactive",
        "PRODUK",
        "cmd_products",
    )


def test_template_quick_reply_gives_text_and_payload(load_fixture):
    [message] = parse_notification(load_fixture("quick_reply_button.json"))
    assert (message.type, message.text, message.payload) == ("button", "Berhenti", "STOP")


def test_unknown_message_types_are_kept_as_unsupported(load_fixture):
    messages = parse_notification(load_fixture("unsupported_message.json"))
    assert [(m.type, m.text) for m in messages] == [("unsupported", None), ("unsupported", None)]
    assert messages[1].wamid.endswith("TgzAA==")


@pytest.mark.parametrize(
    ("name", "status", "stamp"),
    [
        ("status_sent.json", "sent", 1732430300),
        ("status_delivered.json", "delivered", 1732430302),
        ("status_read.json", "read", 1732430400),
    ],
)
def test_delivery_statuses(load_fixture, name, status, stamp):
    [update] = parse_notification(load_fixture(name))
    assert update == StatusUpdate(
        wamid=SENT_WAMID,
        status=status,
        timestamp=datetime.fromtimestamp(stamp, UTC),
        recipient_id=USER,
        errors=(),
        callback_data="product:42",
        phone_number_id=PNID,
    )
    assert update.failure_action is None
    assert update.dedup_key == f"status:{SENT_WAMID}:{status}"


@pytest.mark.parametrize(
    ("name", "code", "title_start", "action"),
    [
        ("status_failed_131047.json", 131047, "Re-engagement message", Action.SEND_TEMPLATE),
        ("status_failed_131026.json", 131026, "Message undeliverable", Action.SKIP_RECIPIENT),
        ("status_failed_131050.json", 131050, "Unable to deliver the message", Action.OPT_OUT),
    ],
)
def test_failed_statuses_carry_errors_and_their_action(
    load_fixture, name, code, title_start, action
):
    [update] = parse_notification(load_fixture(name))
    assert update.status == "failed"
    assert [err.code for err in update.errors] == [code]
    assert update.errors[0].title.startswith(title_start)
    assert update.errors[0] == (code, update.errors[0].title)  # a plain (code, title) pair
    assert update.failure_action is action


def test_failed_status_without_errors_is_a_plain_failure():
    update = dataclasses.replace(_status_update(), status="failed", errors=())
    assert update.failure_action is Action.FAIL


def _status_update() -> StatusUpdate:
    stamp = datetime(2024, 1, 1, tzinfo=UTC)
    return StatusUpdate("wamid.1", "sent", stamp, USER, (StatusError(1, "x"),), None, PNID)


def test_several_entries_changes_and_kinds_in_one_delivery(load_fixture):
    root = json.loads(load_fixture("text_message.json"))
    status_change = json.loads(load_fixture("status_read.json"))["entry"][0]["changes"][0]
    template_change = {"field": "message_template_status_update", "value": {"event": "APPROVED"}}
    root["entry"][0]["changes"] += [template_change, status_change]
    root["entry"].append(json.loads(load_fixture("status_failed_131026.json"))["entry"][0])

    updates = parse_notification(json.dumps(root).encode())

    assert [type(u).__name__ for u in updates] == ["InboundMessage", "StatusUpdate", "StatusUpdate"]
    assert [getattr(u, "status", None) for u in updates] == [None, "read", "failed"]


def test_updates_are_frozen(load_fixture):
    [message] = parse_notification(load_fixture("text_message.json"))
    with pytest.raises(dataclasses.FrozenInstanceError):
        message.text = "stop"  # type: ignore[misc]


def test_accepts_str_bodies(load_fixture):
    assert len(parse_notification(load_fixture("text_message.json").decode())) == 1


def test_delivery_without_messages_or_statuses_is_empty():
    body = {"object": "whatsapp_business_account", "entry": [{"id": "1", "changes": []}]}
    assert parse_notification(json.dumps(body)) == []


def _mutated(load_fixture, name: str, mutate) -> bytes:
    root = json.loads(load_fixture(name))
    mutate(root)
    return json.dumps(root).encode()


def _value(root: dict) -> dict:
    return root["entry"][0]["changes"][0]["value"]


@pytest.mark.parametrize(
    ("name", "mutate"),
    [
        ("text_message.json", lambda r: r.update(object="page")),
        ("text_message.json", lambda r: r.pop("entry")),
        ("text_message.json", lambda r: r.update(entry={"id": "1"})),
        ("text_message.json", lambda r: r["entry"][0]["changes"][0].update(value=[])),
        ("text_message.json", lambda r: _value(r).update(messages={"id": "x"})),
        ("text_message.json", lambda r: _value(r)["messages"][0].pop("from")),
        ("text_message.json", lambda r: _value(r)["messages"][0].pop("id")),
        ("text_message.json", lambda r: _value(r)["messages"][0].update(timestamp="kemarin")),
        ("status_sent.json", lambda r: _value(r)["statuses"][0].pop("status")),
        ("status_sent.json", lambda r: _value(r)["statuses"][0].pop("timestamp")),
        ("status_sent.json", lambda r: _value(r).update(statuses=["sent"])),
    ],
    ids=[
        "other-object",
        "no-entry",
        "entry-not-list",
        "value-not-object",
        "messages-not-list",
        "no-from",
        "no-id",
        "bad-timestamp",
        "status-without-status",
        "status-without-time",
        "status-not-object",
    ],
)
def test_malformed_shapes_raise_malformed_payload(load_fixture, name, mutate):
    with pytest.raises(MalformedPayload):
        parse_notification(_mutated(load_fixture, name, mutate))


@pytest.mark.parametrize("body", [b"", b"{not json", b"\xff\xfe", b"[]", b"null", b'"text"'])
def test_non_json_or_non_object_bodies_raise_malformed_payload(body):
    with pytest.raises(MalformedPayload):
        parse_notification(body)
