"""Apply delivery statuses (sent, delivered, read, failed) to deliveries, in any arrival order.

The ordering rule:

- ``sent`` < ``delivered`` < ``read``: a status only ever moves forward, so a ``delivered``
  arriving after ``read`` changes nothing.
- ``failed`` is terminal: once a message failed nothing moves it again (its reaction, such as the
  template resend, has run). The one exception is the other way round: a ``failed`` arriving
  after ``delivered`` or ``read`` is ignored, because those prove the message reached the phone.
- Every status is kept in ``wa_message_statuses`` as it came, whatever it did to the delivery.

A failed message's first error code decides the reaction (:func:`_react`): 131047 resends once
as the template, 131026 marks the number undeliverable, 131050 records an opt-out; anything else
leaves the delivery failed with its code (``kliqs whatsapp broadcast`` sends again).

A status may arrive before the sender stored the wamid. It is matched then by our
``biz_opaque_callback_data`` (the send's token), and the sender applies stored statuses again
once it has stored the wamid; applying twice changes nothing.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import select
from sqlalchemy.orm import Session

from integrations.whatsapp_bot.errors import Action, action_for_code
from integrations.whatsapp_bot.models import Delivery, DeliveryState, StatusRecord
from integrations.whatsapp_bot.subscribers import mark_undeliverable, unsubscribe
from kliqs_core.connector.db import Database

__all__ = [
    "CALLBACK_PREFIX",
    "Applied",
    "apply_status",
    "apply_stored_statuses",
    "callback_for",
    "next_status",
    "react_for_recipient",
]

log = logging.getLogger(__name__)

CALLBACK_PREFIX = "kliqs:"
UNDELIVERABLE_CODE = 131026
#: A resend is queued at once; the sweeper steps in only if that task is lost.
RESEND_SWEEP_DELAY = timedelta(seconds=120)
_RANK = {"sent": 1, "delivered": 2, "read": 3}


@dataclass(frozen=True)
class Applied:
    """What applying one status did; ``resend`` is a delivery to queue again (as a template)."""

    changed: bool = False
    resend: int | None = None


def callback_for(token: str) -> str:
    """The ``biz_opaque_callback_data`` of a send attempt."""
    return CALLBACK_PREFIX + token


def next_status(current: str | None, new: str) -> str | None:
    """The delivery's status after ``new`` arrives, or None when it stays as it is."""
    if current == "failed":
        return None
    if new == "failed":
        return None if current in ("delivered", "read") else "failed"
    if new in _RANK and _RANK[new] > _RANK.get(current or "", 0):
        return new
    return None


def apply_status(database: Database, status_pk: int, *, now: datetime) -> Applied:
    """Apply one stored status to its delivery (if any) and mark it processed."""
    with database.transaction() as session:
        record = session.get(StatusRecord, status_pk)
        if record is None:
            return Applied()
        delivery = _delivery_for(session, record)
        applied = _apply(session, record, delivery, now) if delivery else _no_delivery(
            session, record, now
        )
        record.processed_at = record.processed_at or now
        return applied


def apply_stored_statuses(database: Database, wamid: str, *, now: datetime) -> Applied:
    """Apply again every status stored for ``wamid`` (after the sender stored it)."""
    result = Applied()
    with database.transaction() as session:
        delivery = session.scalars(select(Delivery).where(Delivery.wamid == wamid)).one_or_none()
        if delivery is None:
            return result
        records = session.scalars(select(StatusRecord).where(StatusRecord.wamid == wamid))
        for record in sorted(records, key=lambda r: _RANK.get(r.status, 9)):
            applied = _apply(session, record, delivery, now)
            result = Applied(result.changed or applied.changed, result.resend or applied.resend)
    return result


def _delivery_for(session: Session, record: StatusRecord) -> Delivery | None:
    delivery = session.scalars(
        select(Delivery).where(Delivery.wamid == record.wamid)
    ).one_or_none()
    if delivery is not None or not (record.callback_data or "").startswith(CALLBACK_PREFIX):
        return delivery
    token = (record.callback_data or "").removeprefix(CALLBACK_PREFIX)
    delivery = session.scalars(select(Delivery).where(Delivery.token == token)).one_or_none()
    if delivery is None or delivery.state != DeliveryState.SENDING or delivery.wamid:
        return None
    # The send's answer has not been stored (yet, or ever: its worker died): this status
    # proves Meta accepted it, under this wamid.
    log.info("whatsapp: delivery %s adopts %s from its status", delivery.id, record.wamid)
    delivery.wamid, delivery.state = record.wamid, DeliveryState.SENT.value
    delivery.sent_at, delivery.claimed_by, delivery.claim_until = record.occurred_at, None, None
    return delivery


def _apply(
    session: Session, record: StatusRecord, delivery: Delivery, now: datetime
) -> Applied:
    new = next_status(delivery.status, record.status)
    if new is None:
        return Applied()
    delivery.status, delivery.status_at, delivery.updated_at = new, record.occurred_at, now
    if new != "failed":
        return Applied(changed=True)
    return Applied(changed=True, resend=_react(session, delivery, record, now))


def _react(
    session: Session, delivery: Delivery, record: StatusRecord, now: datetime
) -> int | None:
    code = record.error_code
    action = action_for_code(code) if code is not None else Action.FAIL
    delivery.error_code, delivery.error_message = code, record.error_title
    resendable = delivery.kind == "text" and not delivery.template_fallback
    if action is Action.SEND_TEMPLATE and resendable:
        # Window closed after all: send the approved template, once. The failed text's wamid
        # stays in wa_message_statuses.
        delivery.state, delivery.template_fallback = DeliveryState.PENDING.value, True
        delivery.wamid = delivery.status = delivery.status_at = None
        delivery.next_sweep_at = now + RESEND_SWEEP_DELAY
        return delivery.id
    delivery.state = DeliveryState.FAILED.value
    react_for_recipient(session, delivery.recipient, code, now)
    log.warning(
        "whatsapp: delivery %s to %s failed: %s %s",
        delivery.id,
        delivery.recipient,
        code,
        record.error_title,
    )
    return None


def _no_delivery(session: Session, record: StatusRecord, now: datetime) -> Applied:
    # A reply to a command, or a status that came before its send was stored: the person's
    # reactions still count.
    if record.status == "failed" and record.recipient:
        react_for_recipient(session, record.recipient, record.error_code, now)
    return Applied()


def react_for_recipient(session: Session, phone: str, code: int | None, now: datetime) -> None:
    """What an error code means for the person: 131050 opts out, 131026 is undeliverable."""
    if code is None:
        return
    if action_for_code(code) is Action.OPT_OUT:
        unsubscribe(session, phone, source=str(code), now=now)
    elif code == UNDELIVERABLE_CODE:  # not 131049: that one is about the message, not the number
        mark_undeliverable(session, phone, now=now)
