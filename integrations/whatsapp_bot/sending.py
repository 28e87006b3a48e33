"""Send one (product, recipient) message: claim, take a send token, send, store the wamid.

Meta has no idempotency key, so the row decides: a send first *claims* its delivery (a
compare-and-set on state and token, committed before the request), and stores the wamid right
after the answer. What can go wrong in between, and what happens then:

- A throttle (130429, 131056) or a 5xx: the row goes back to ``pending`` and the task retries
  with a growing countdown; after ``WHATSAPP_MAX_ATTEMPTS`` it fails with the code.
- A permanent error is never retried: 131047 on free-form text is sent again at once as the
  template (once), 131026 marks the number undeliverable, 131050 is an opt-out, and anything
  else fails the delivery with its code.
- The worker dies, the request times out after it was sent, or a 2xx answer cannot be read:
  the outcome is unknown. The row stays ``sending`` until its claim runs out. Every send
  carries its token as ``biz_opaque_callback_data``, which Meta echoes in the status webhooks:
  a stored status with it proves the message went out and the row adopts its wamid. Only when
  none has come ``WHATSAPP_RESEND_GRACE`` seconds after the claim ran out is it sent again.
"""

from __future__ import annotations

import logging
import uuid
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

import httpx
from sqlalchemy import Connection, select, update
from sqlalchemy.orm import Session

from integrations.whatsapp_bot.client import SentMessage, WhatsAppClient
from integrations.whatsapp_bot.context import Bot
from integrations.whatsapp_bot.errors import (
    Action,
    RateLimitTimeout,
    TemplateError,
    UnexpectedResponse,
    WhatsAppConnectionError,
    WhatsAppError,
)
from integrations.whatsapp_bot.models import (
    Delivery,
    DeliveryState,
    StatusRecord,
    Subscriber,
    SubscriberStatus,
)
from integrations.whatsapp_bot.settings import WhatsAppSettings
from integrations.whatsapp_bot.statuses import (
    apply_stored_statuses,
    callback_for,
    react_for_recipient,
)
from integrations.whatsapp_bot.subscribers import in_window
from kliqs_core.connector.models import Product
from kliqs_core.messages import format_product_message

__all__ = ["PAIR_LIMIT_SECONDS", "SendOutcome", "backoff", "send_delivery"]

log = logging.getLogger(__name__)

#: 131056: Meta allows about one message per 6 s to the same person.
PAIR_LIMIT_SECONDS = 6.0
_PAIR_LIMIT_CODE = 131056
_TOKEN_TIMEOUT = 30.0
# The request never left this machine: sending it again cannot make a duplicate.
_NOT_SENT = (httpx.ConnectError, httpx.ConnectTimeout, httpx.PoolTimeout)


@dataclass(frozen=True)
class SendOutcome:
    """What one run did: ``sent``, ``adopted``, ``failed``, ``skipped``, ``done`` (nothing to
    do), ``busy`` (claimed elsewhere), ``gone``, or ``retry``/``wait`` after ``countdown``."""

    kind: str
    countdown: float = 0.0
    code: int | None = None


@dataclass(frozen=True)
class _Target:
    delivery_id: int
    recipient: str
    kind: str
    title: str
    short_url: str
    state: str
    token: str | None
    attempts: int
    template_fallback: bool


def send_delivery(bot: Bot, delivery_id: int) -> SendOutcome:
    """Send delivery ``delivery_id`` if it still needs sending; safe to run twice at once."""
    # One connection for the whole send (one pool check-out, two short transactions): a
    # broadcast runs this 80 times a second, and round trips are most of its cost.
    with bot.database.engine.connect() as conn:
        planned = _claim_next(bot, conn, delivery_id)
        if isinstance(planned, SendOutcome):
            return planned
        target, token = planned
        client = bot.client()  # built (TLS context and all) before the token, not after it
        if bot.bucket is not None and not bot.bucket.acquire(_token_timeout(bot.settings)):
            return _on_error(bot, conn, target, token, RateLimitTimeout(None, "no send token"))
        try:
            sent = _post(client, bot.settings, target, token)
        except WhatsAppError as exc:
            return _on_error(bot, conn, target, token, exc)
        statuses_waiting = _record_sent(bot, conn, target, token, sent)
    if statuses_waiting:
        _after_sent(bot, sent.wamid)
    return SendOutcome("sent")


def _token_timeout(settings: WhatsAppSettings) -> float:
    # The claim must outlast the wait for a token plus the request itself.
    return min(_TOKEN_TIMEOUT, settings.claim_seconds / 3)


_ROW = (
    Delivery.state,
    Delivery.token,
    Delivery.attempts,
    Delivery.template_fallback,
    Delivery.recipient,
    Subscriber.status.label("subscriber_status"),
    Subscriber.last_inbound_at,
    Product.title,
    Product.short_url,
)


def _claim_next(bot: Bot, conn: Connection, delivery_id: int) -> tuple[_Target, str] | SendOutcome:
    now = bot.clock()
    query = (
        select(*_ROW)
        .select_from(Delivery)
        .outerjoin(Subscriber, Subscriber.phone == Delivery.recipient)
        .outerjoin(Product, Product.id == Delivery.product_pk)
        .where(Delivery.id == delivery_id)
    )
    with conn.begin():
        row = conn.execute(query).one_or_none()
        if row is None:
            return SendOutcome("gone")
        if row.state not in (DeliveryState.PENDING, DeliveryState.SENDING):
            return SendOutcome("done")
    if row.state == DeliveryState.SENDING:
        unknown = _resolve_unknown_outcome(bot, delivery_id, now)
        if unknown is not None:
            return unknown
    target = _target(delivery_id, row, now)
    with conn.begin():
        if isinstance(target, str):
            conn.execute(_guard(delivery_id, row.state, row.token).values(
                state=DeliveryState.SKIPPED.value, error_message=target, updated_at=now,
                claimed_by=None, claim_until=None,
            ))  # fmt: skip
            return SendOutcome("skipped")
        token = uuid.uuid4().hex
        if not _claim(bot, conn, target, token, now):
            return SendOutcome("busy")
    return target, token


def _target(delivery_id: int, row: Any, now: datetime) -> _Target | str:
    """What to send, or why not (stopped, undeliverable or removed since it was planned)."""
    if row.subscriber_status != SubscriberStatus.ACTIVE:
        return f"recipient is {row.subscriber_status or 'unknown'}"
    if not row.short_url:
        return "product has no short URL"
    window = in_window(row.last_inbound_at, now)
    kind = "text" if window and not row.template_fallback else "template"
    return _Target(
        delivery_id,
        row.recipient,
        kind,
        row.title,
        row.short_url,
        row.state,
        row.token,
        row.attempts,
        row.template_fallback,
    )


def _resolve_unknown_outcome(bot: Bot, delivery_id: int, now: datetime) -> SendOutcome | None:
    """A ``sending`` row: busy, adopted, still waiting, or None when it is to be sent again."""
    with bot.database.transaction() as session:
        row = session.get(Delivery, delivery_id)
        if row is None or row.state != DeliveryState.SENDING:
            return SendOutcome("done")
        outcome = _check_unknown_outcome(session, row, bot.settings, now)
        wamid = row.wamid
    if outcome is not None and outcome.kind == "adopted" and wamid:
        _after_sent(bot, wamid)
    return outcome


def _check_unknown_outcome(
    session: Session, row: Delivery, settings: WhatsAppSettings, now: datetime
) -> SendOutcome | None:
    if row.claim_until is not None and row.claim_until > now:
        return SendOutcome("busy")
    proof = session.scalars(
        select(StatusRecord).where(StatusRecord.callback_data == callback_for(row.token or "-"))
    ).first()
    if proof is not None:
        log.info("whatsapp: delivery %s was sent as %s (status webhook)", row.id, proof.wamid)
        row.state, row.wamid, row.sent_at = DeliveryState.SENT.value, proof.wamid, proof.occurred_at
        row.claimed_by = row.claim_until = None
        return SendOutcome("adopted")
    resend_at = (row.claim_until or now) + timedelta(seconds=settings.resend_grace)
    if resend_at > now:
        return SendOutcome("wait", countdown=(resend_at - now).total_seconds())
    log.warning("whatsapp: delivery %s: no word of its last send; sending again", row.id)
    return None


def _guard(delivery_id: int, state: str, token: str | None) -> Any:
    token_match = Delivery.token.is_(None) if token is None else Delivery.token == token
    return update(Delivery).where(Delivery.id == delivery_id, Delivery.state == state, token_match)


def _claim(bot: Bot, conn: Connection, target: _Target, token: str, now: datetime) -> bool:
    claim_until = now + timedelta(seconds=bot.settings.claim_seconds)
    statement = _guard(target.delivery_id, target.state, target.token).values(
        state=DeliveryState.SENDING.value,
        token=token,
        claimed_by=token,
        claim_until=claim_until,
        attempts=Delivery.attempts + 1,
        kind=target.kind,
        next_sweep_at=claim_until + timedelta(seconds=bot.settings.resend_grace),
        updated_at=now,
    )
    return bool(conn.execute(statement).rowcount == 1)


def _post(
    client: WhatsAppClient, settings: WhatsAppSettings, target: _Target, token: str
) -> SentMessage:
    callback = callback_for(token)
    if target.kind == "text":
        body = format_product_message(target.title, target.short_url)
        return client.send_text(target.recipient, body, callback_data=callback)
    if not settings.template_name:
        raise TemplateError(None, "WHATSAPP_TEMPLATE_NAME is not set")
    params = [target.title, target.short_url]
    return client.send_template(
        target.recipient,
        settings.template_name,
        settings.template_language,
        params,
        callback_data=callback,
    )


def _claimed(delivery_id: int, token: str) -> Any:
    return update(Delivery).where(
        Delivery.id == delivery_id,
        Delivery.state == DeliveryState.SENDING.value,
        Delivery.claimed_by == token,
    )


def _record_sent(
    bot: Bot, conn: Connection, target: _Target, token: str, sent: SentMessage
) -> bool:
    """Store the wamid; True when statuses for it came first and must be applied now."""
    now = bot.clock()
    statement = _claimed(target.delivery_id, token).values(
        state=DeliveryState.SENT.value,
        wamid=sent.wamid,
        sent_at=now,
        claimed_by=None,
        claim_until=None,
        error_code=None,
        error_message=None,
        updated_at=now,
    )
    early = select(StatusRecord.id).where(StatusRecord.wamid == sent.wamid).limit(1)
    with conn.begin():
        if conn.execute(statement).rowcount != 1:
            # A status webhook carrying our token was faster and stored the wamid already.
            log.info("whatsapp: delivery %s already recorded as sent", target.delivery_id)
        return conn.execute(early).first() is not None


def _after_sent(bot: Bot, wamid: str) -> None:
    applied = apply_stored_statuses(bot.database, wamid, now=bot.clock())
    if applied.resend is not None:
        bot.enqueue("send", applied.resend, 0.0)


def _on_error(
    bot: Bot, conn: Connection, target: _Target, token: str, exc: WhatsAppError
) -> SendOutcome:
    attempt = target.attempts + 1
    if _maybe_sent(exc):
        return _unknown_outcome(bot, conn, target, token, exc)
    if exc.action is Action.RETRY_LATER and attempt < bot.settings.max_attempts:
        countdown = backoff(attempt, exc.code, bot.settings, bot.jitter)
        _release(bot, conn, target, token, exc, countdown=countdown)
        log.info("whatsapp: delivery %s: %s; retry in %.1fs", target.delivery_id, exc, countdown)
        return SendOutcome("retry", countdown=countdown, code=exc.code)
    if exc.action is Action.SEND_TEMPLATE and target.kind == "text":
        _release(bot, conn, target, token, exc, countdown=0.0, template_fallback=True)
        return SendOutcome("retry", countdown=0.0, code=exc.code)
    _fail(bot, conn, target, token, exc)
    return SendOutcome("failed", code=exc.code)


def _maybe_sent(exc: WhatsAppError) -> bool:
    """The request may have been accepted: a timeout or a broken connection after sending, or
    a 2xx answer we could not read."""
    if isinstance(exc, UnexpectedResponse):
        return True
    return isinstance(exc, WhatsAppConnectionError) and not isinstance(exc.__cause__, _NOT_SENT)


def backoff(
    attempt: int, code: int | None, settings: WhatsAppSettings, jitter: Any = None
) -> float:
    """Seconds before send attempt ``attempt + 1``: doubling from ``retry_base``, capped,
    half of it random so throttled workers do not come back together."""
    ceiling = min(settings.retry_cap, settings.retry_base * 2 ** min(attempt - 1, 20))
    delay: float = ceiling / 2 + (jitter() if jitter else 0.5) * ceiling / 2
    return max(delay, PAIR_LIMIT_SECONDS) if code == _PAIR_LIMIT_CODE else delay


def _release(
    bot: Bot,
    conn: Connection,
    target: _Target,
    token: str,
    exc: WhatsAppError,
    *,
    countdown: float,
    template_fallback: bool | None = None,
) -> None:
    now = bot.clock()
    values: dict[str, Any] = dict(
        state=DeliveryState.PENDING.value,
        claimed_by=None,
        claim_until=None,
        error_code=exc.code,
        error_message=exc.message[:1000],
        next_sweep_at=now + timedelta(seconds=countdown + bot.sweep_grace),
        updated_at=now,
    )
    if template_fallback is not None:
        values["template_fallback"] = template_fallback
    with conn.begin():
        conn.execute(_claimed(target.delivery_id, token).values(**values))


def _unknown_outcome(
    bot: Bot, conn: Connection, target: _Target, token: str, exc: WhatsAppError
) -> SendOutcome:
    # The request may have reached Meta: keep the row "sending" with its claim ended now, and
    # let the status webhook (or the resend grace) decide.
    now = bot.clock()
    grace = bot.settings.resend_grace
    with conn.begin():
        conn.execute(
            _claimed(target.delivery_id, token).values(
                claim_until=now,
                error_message=exc.message[:1000],
                next_sweep_at=now + timedelta(seconds=grace),
                updated_at=now,
            )
        )
    log.warning("whatsapp: delivery %s: outcome unknown (%s)", target.delivery_id, exc)
    return SendOutcome("wait", countdown=grace + 0.1, code=exc.code)


def _fail(bot: Bot, conn: Connection, target: _Target, token: str, exc: WhatsAppError) -> None:
    now = bot.clock()
    log.warning("whatsapp: delivery %s to %s failed: %s", target.delivery_id, target.recipient, exc)
    with conn.begin():
        conn.execute(
            _claimed(target.delivery_id, token).values(
                state=DeliveryState.FAILED.value,
                claimed_by=None,
                claim_until=None,
                error_code=exc.code,
                error_message=exc.message[:1000],
                updated_at=now,
            )
        )
    if exc.code is not None:
        with bot.database.transaction() as session:
            react_for_recipient(session, target.recipient, exc.code, now)
