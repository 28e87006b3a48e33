"""Act on one stored inbound message: open the 24-hour window, run the command, reply.

``DAFTAR``/``JOIN`` subscribes (consent stored with its time and source ``whatsapp``),
``STOP``/``BERHENTI`` unsubscribes, ``PRODUK`` answers the latest shortened products with their
short links, anything else gets the help text. The message row is claimed first and the
command's effects are committed before the reply is sent, so a crash repeats only idempotent
steps (subscribing twice keeps the first consent).
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import func, or_, select, update
from sqlalchemy.orm import Session

from integrations.whatsapp_bot.commands import Command, parse_command, reply_language, reply_text
from integrations.whatsapp_bot.context import Bot
from integrations.whatsapp_bot.errors import RateLimitTimeout, WhatsAppError
from integrations.whatsapp_bot.models import InboundRecord, InboundState
from integrations.whatsapp_bot.sending import backoff
from integrations.whatsapp_bot.subscribers import (
    WINDOW,
    record_inbound,
    subscribe,
    unsubscribe,
)
from kliqs_core.connector.models import Product, ProductState

__all__ = ["InboundOutcome", "handle_inbound", "latest_products"]

log = logging.getLogger(__name__)

#: Message kinds a person types or taps; stickers, reactions and media get no answer.
REPLYABLE_TYPES = frozenset({"text", "button", "interactive"})
LATEST_PRODUCTS = 5
_TOKEN_TIMEOUT = 30.0


@dataclass(frozen=True)
class InboundOutcome:
    """``handled``, ``done`` (before), ``busy``, ``gone``, or ``retry`` after ``countdown``."""

    kind: str
    command: str | None = None
    countdown: float = 0.0


@dataclass(frozen=True)
class _Reply:
    message_pk: int
    to: str
    text: str | None
    command: str | None


def handle_inbound(bot: Bot, message_pk: int, *, attempt: int = 1) -> InboundOutcome:
    """Handle inbound message ``message_pk`` once; ``attempt`` counts this task's retries."""
    planned = _claim_and_apply(bot, message_pk)
    if isinstance(planned, InboundOutcome):
        return planned
    wamid = None
    if planned.text is not None:
        try:
            wamid = _send_reply(bot, planned)
        except WhatsAppError as exc:
            if exc.is_transient and attempt < bot.settings.max_attempts:
                _release(bot, message_pk)
                countdown = backoff(attempt, exc.code, bot.settings, bot.jitter)
                return InboundOutcome("retry", planned.command, countdown)
            log.warning("whatsapp: no reply to message %s: %s", message_pk, exc)
    _finish(bot, message_pk, wamid)
    return InboundOutcome("handled", planned.command)


def _claim_and_apply(bot: Bot, message_pk: int) -> _Reply | InboundOutcome:
    now = bot.clock()
    claim = (
        update(InboundRecord)
        .where(InboundRecord.id == message_pk, InboundRecord.state == InboundState.RECEIVED.value)
        .where(or_(InboundRecord.claim_until.is_(None), InboundRecord.claim_until < now))
        .values(claim_until=now + timedelta(seconds=bot.settings.claim_seconds))
    )
    with bot.database.transaction() as session:
        claimed = session.execute(claim).rowcount == 1  # type: ignore[attr-defined]
        row = session.get(InboundRecord, message_pk)
        if row is None:
            return InboundOutcome("gone")
        if not claimed:
            return InboundOutcome("busy" if row.state == InboundState.RECEIVED else "done")
        record_inbound(session, row.sender, at=row.sent_at, now=now, name=row.contact_name)
        command, lang = _command_of(row)
        row.command = command.value if command is not None else None
        text = _run(session, command, lang, row, now)
        return _Reply(message_pk, row.sender, text if _answers(row, now) else None, row.command)


def _command_of(row: InboundRecord) -> tuple[Command | None, str]:
    if row.type not in REPLYABLE_TYPES:
        return None, "id"
    # A tapped button carries its title as text and its id as payload: either may be the keyword.
    for source in (row.text, row.payload):
        command = parse_command(source)
        if command is not Command.UNKNOWN:
            return command, reply_language(source)
    return Command.UNKNOWN, reply_language(row.text)


def _answers(row: InboundRecord, now: datetime) -> bool:
    # Meta redelivers for days: a reply to a message older than the window would be refused.
    return row.type in REPLYABLE_TYPES and now - row.sent_at < WINDOW


def _run(
    session: Session, command: Command | None, lang: str, row: InboundRecord, now: datetime
) -> str | None:
    if command is None:
        return None
    # The person's own timestamp is the consent (or opt-out) time, and orders the two.
    if command is Command.SUBSCRIBE:
        subscribe(session, row.sender, source="whatsapp", now=now, at=row.sent_at,
                  name=row.contact_name)
    elif command is Command.UNSUBSCRIBE:
        unsubscribe(session, row.sender, source="whatsapp", now=now, at=row.sent_at)
    products = latest_products(session) if command is Command.PRODUCTS else []
    return reply_text(command, "en" if lang == "en" else "id", products)


def latest_products(session: Session, limit: int = LATEST_PRODUCTS) -> list[tuple[str, str]]:
    """The most recently written-back products with a short link: ``(title, short_url)``."""
    done = [ProductState.WRITTEN_BACK.value, ProductState.NOTIFIED.value]
    query = (
        select(Product.title, Product.short_url)
        .where(Product.short_url.is_not(None), Product.state.in_(done))
        .order_by(func.coalesce(Product.written_back_at, Product.updated_at).desc())
        .order_by(Product.id.desc())
        .limit(limit)
    )
    return [(title, url) for title, url in session.execute(query) if url]


def _send_reply(bot: Bot, reply: _Reply) -> str:
    assert reply.text is not None
    if bot.bucket is not None and not bot.bucket.acquire(_TOKEN_TIMEOUT):
        raise RateLimitTimeout(None, "local throughput limit: no send token in time")
    return bot.client().send_text(reply.to, reply.text).wamid


def _release(bot: Bot, message_pk: int) -> None:
    with bot.database.transaction() as session:
        session.execute(
            update(InboundRecord).where(InboundRecord.id == message_pk).values(claim_until=None)
        )


def _finish(bot: Bot, message_pk: int, reply_wamid: str | None) -> None:
    now = bot.clock()
    with bot.database.transaction() as session:
        session.execute(
            update(InboundRecord)
            .where(InboundRecord.id == message_pk)
            .values(
                state=InboundState.HANDLED.value,
                handled_at=now,
                reply_wamid=reply_wamid,
                claim_until=None,
            )
        )
