"""Framework-free handling of WhatsApp webhooks: the GET challenge, the signature, the payload.

A route does, in order: :func:`verify_signature` on the raw bytes (401 when False), store the body,
answer 200, and later :func:`parse_notification` into frozen dataclasses. Meta retries any non-200
for days and sends duplicates, so consumers de-duplicate on ``dedup_key``.
"""

from __future__ import annotations

import hashlib
import hmac
import json
from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any, NamedTuple

from integrations.whatsapp_bot.errors import Action, action_for_code

SIGNATURE_HEADER = "X-Hub-Signature-256"
_SIGNATURE_PREFIX = "sha256="

# Message types Meta documents; anything else becomes "unsupported" (as Meta itself labels them).
KNOWN_MESSAGE_TYPES = frozenset(
    {
        "text",
        "button",
        "interactive",
        "image",
        "audio",
        "video",
        "document",
        "sticker",
        "location",
        "contacts",
        "reaction",
        "order",
        "system",
        "request_welcome",
        "unsupported",
    }
)


class MalformedPayload(ValueError):
    """The notification body is not JSON or not in the shape Meta documents."""


class StatusError(NamedTuple):
    """One entry of a ``failed`` status's ``errors`` list."""

    code: int
    title: str


@dataclass(frozen=True)
class InboundMessage:
    """A message a person sent to the business number."""

    wamid: str
    from_: str
    timestamp: datetime
    type: str
    text: str | None
    """The text body, a button's or list row's title, or a media caption."""
    payload: str | None
    """The id of a tapped reply button or list row, or a template quick-reply payload."""
    contact_name: str | None
    phone_number_id: str | None

    @property
    def dedup_key(self) -> str:
        """Unique per inbound message, for the connector's inbox."""
        return f"message:{self.wamid}"


@dataclass(frozen=True)
class StatusUpdate:
    """A delivery status of a message the business sent."""

    wamid: str
    status: str
    """``sent``, ``delivered``, ``read`` or ``failed`` (statuses can arrive out of order)."""
    timestamp: datetime
    recipient_id: str | None
    errors: tuple[StatusError, ...]
    callback_data: str | None
    """Our ``biz_opaque_callback_data``, echoed back."""
    phone_number_id: str | None

    @property
    def dedup_key(self) -> str:
        """Unique per (message, status)."""
        return f"status:{self.wamid}:{self.status}"

    @property
    def failure_action(self) -> Action | None:
        """What to do about a ``failed`` status (from its first error code); None otherwise."""
        if self.status != "failed":
            return None
        return action_for_code(self.errors[0].code) if self.errors else Action.FAIL


Update = InboundMessage | StatusUpdate


def verify_challenge(params: Mapping[str, str], verify_token: str) -> str | None:
    """The ``hub.challenge`` to echo with 200, or None (answer 403) when mode or token is wrong."""
    if not verify_token or params.get("hub.mode") != "subscribe":
        return None
    given = params.get("hub.verify_token", "")
    if not hmac.compare_digest(given.encode(), verify_token.encode()):
        return None
    challenge = params.get("hub.challenge")
    return challenge if challenge else None


def sign(raw_body: bytes, app_secret: str) -> str:
    """The ``X-Hub-Signature-256`` value Meta sends for ``raw_body``."""
    digest = hmac.new(app_secret.encode(), raw_body, hashlib.sha256).hexdigest()
    return _SIGNATURE_PREFIX + digest


def verify_signature(raw_body: bytes, header: str | None, app_secret: str) -> bool:
    """True when ``header`` is ``sha256=<hex HMAC-SHA256 of raw_body with app_secret>``."""
    if not app_secret or not header or not header.startswith(_SIGNATURE_PREFIX):
        return False
    given = header[len(_SIGNATURE_PREFIX) :].strip().lower()
    expected = sign(raw_body, app_secret)[len(_SIGNATURE_PREFIX) :]
    return hmac.compare_digest(given.encode(), expected.encode())


def parse_notification(raw_body: bytes | str) -> list[Update]:
    """Every inbound message and status in a notification, in delivery order.

    Changes other than ``messages`` (template or account updates) are skipped.
    """
    try:
        root = json.loads(raw_body)
    except (ValueError, UnicodeDecodeError) as exc:
        raise MalformedPayload(f"body is not JSON: {exc}") from exc
    if not isinstance(root, dict) or root.get("object") != "whatsapp_business_account":
        raise MalformedPayload("not a whatsapp_business_account notification")
    updates: list[Update] = []
    for value in _message_values(root):
        metadata = _as_dict(value.get("metadata", {}), "metadata")
        phone_number_id = _opt_str(metadata.get("phone_number_id"))
        names = _contact_names(value)
        for message in _as_list(value.get("messages", []), "messages"):
            updates.append(_inbound(_as_dict(message, "message"), names, phone_number_id))
        for status in _as_list(value.get("statuses", []), "statuses"):
            updates.append(_status(_as_dict(status, "status"), phone_number_id))
    return updates


def _message_values(root: dict[str, Any]) -> Iterator[dict[str, Any]]:
    for entry in _as_list(root.get("entry"), "entry"):
        for change in _as_list(_as_dict(entry, "entry").get("changes", []), "changes"):
            change = _as_dict(change, "change")
            if change.get("field") == "messages":
                yield _as_dict(change.get("value"), "value")


def _contact_names(value: dict[str, Any]) -> dict[str, str]:
    names: dict[str, str] = {}
    for contact in _as_list(value.get("contacts", []), "contacts"):
        contact = _as_dict(contact, "contact")
        profile = contact.get("profile")
        name = profile.get("name") if isinstance(profile, dict) else None
        if isinstance(contact.get("wa_id"), str) and isinstance(name, str):
            names[contact["wa_id"]] = name
    return names


def _inbound(
    message: dict[str, Any], names: dict[str, str], phone_number_id: str | None
) -> InboundMessage:
    sender = _req_str(message, "from")
    type_ = message.get("type")
    type_ = type_ if type_ in KNOWN_MESSAGE_TYPES else "unsupported"
    text, payload = _text_and_payload(message, type_)
    return InboundMessage(
        wamid=_req_str(message, "id"),
        from_=sender,
        timestamp=_timestamp(message.get("timestamp")),
        type=type_,
        text=text,
        payload=payload,
        contact_name=names.get(sender),
        phone_number_id=phone_number_id,
    )


def _text_and_payload(message: dict[str, Any], type_: str) -> tuple[str | None, str | None]:
    body = message.get(type_)
    if not isinstance(body, dict):
        return None, None
    if type_ == "text":
        return _opt_str(body.get("body")), None
    if type_ == "button":  # a template's quick-reply button
        return _opt_str(body.get("text")), _opt_str(body.get("payload"))
    if type_ == "interactive":
        kind = body.get("type")  # button_reply or list_reply
        reply = body.get(kind) if isinstance(kind, str) else None
        if isinstance(reply, dict):
            return _opt_str(reply.get("title")), _opt_str(reply.get("id"))
        return None, None
    return _opt_str(body.get("caption")), None


def _status(status: dict[str, Any], phone_number_id: str | None) -> StatusUpdate:
    errors = tuple(
        StatusError(code=int(err["code"]), title=str(err.get("title") or err.get("message") or ""))
        for err in _as_list(status.get("errors", []), "errors")
        if isinstance(err, dict) and isinstance(err.get("code"), int)
    )
    return StatusUpdate(
        wamid=_req_str(status, "id"),
        status=_req_str(status, "status"),
        timestamp=_timestamp(status.get("timestamp")),
        recipient_id=_opt_str(status.get("recipient_id")),
        errors=errors,
        callback_data=_opt_str(status.get("biz_opaque_callback_data")),
        phone_number_id=phone_number_id,
    )


def _timestamp(value: Any) -> datetime:
    # Meta sends Unix seconds as a string.
    try:
        return datetime.fromtimestamp(int(value), tz=UTC)
    except (TypeError, ValueError, OverflowError, OSError) as exc:
        raise MalformedPayload(f"bad timestamp {value!r}") from exc


def _req_str(obj: dict[str, Any], key: str) -> str:
    value = obj.get(key)
    if not isinstance(value, str) or not value:
        raise MalformedPayload(f"missing or empty {key!r}")
    return value


def _opt_str(value: Any) -> str | None:
    return value if isinstance(value, str) else None


def _as_dict(value: Any, what: str) -> dict[str, Any]:
    if not isinstance(value, dict):
        raise MalformedPayload(f"{what} is not an object")
    return value


def _as_list(value: Any, what: str) -> list[Any]:
    if not isinstance(value, list):
        raise MalformedPayload(f"{what} is not a list")
    return value
