"""The ``/webhooks/whatsapp`` route: Meta's verification handshake and its notifications.

``GET``: ``hub.mode=subscribe`` with our ``hub.verify_token`` answers the raw ``hub.challenge``;
anything else is 403. ``POST``: ``X-Hub-Signature-256`` is checked on the raw bytes before
anything is parsed (401, nothing stored, when it is missing or wrong); then messages and
statuses are stored, de-duplicated, and the new ones queued, and the answer is 200 at once.
A signed body that does not parse is kept in the connector's inbox as ``rejected`` and still
answered 200, since Meta would otherwise resend it for days.
"""

from __future__ import annotations

import hashlib
import logging

from starlette.responses import PlainTextResponse, Response

from integrations.whatsapp_bot import context
from integrations.whatsapp_bot.inbox import store_updates
from integrations.whatsapp_bot.webhooks import (
    SIGNATURE_HEADER,
    MalformedPayload,
    parse_notification,
    verify_challenge,
    verify_signature,
)
from kliqs_core.connector import WebhookRequest, error_response, ok_response, reject_webhook

__all__ = ["PLATFORM", "handle_webhook"]

log = logging.getLogger(__name__)

PLATFORM = "whatsapp"


def handle_webhook(request: WebhookRequest) -> Response:
    """Serve one request to ``/webhooks/whatsapp`` (sync: it writes the database)."""
    settings = context.get_settings()
    if request.method == "GET":
        challenge = verify_challenge(request.query, settings.verify_token.get_secret_value())
        if challenge is None:
            return error_response(403, "FORBIDDEN", "Verification failed.")
        return PlainTextResponse(challenge)
    secret = settings.app_secret.get_secret_value()
    if not verify_signature(request.body, request.headers.get(SIGNATURE_HEADER), secret):
        return error_response(401, "INVALID_SIGNATURE", "The signature does not match the body.")
    try:
        updates = parse_notification(request.body)
    except MalformedPayload as exc:
        return _reject(request, settings.phone_number_id, str(exc))
    bot = context.get_bot()
    stored = store_updates(
        bot.database,
        updates,
        phone_number_id=settings.phone_number_id,
        now=bot.clock(),
        grace_seconds=bot.sweep_grace,
    )
    for message_pk in stored.messages:
        bot.enqueue("inbound", message_pk, 0.0)
    for status_pk in stored.statuses:
        bot.enqueue("status", status_pk, 0.0)
    return ok_response(
        {
            "messages": len(stored.messages),
            "statuses": len(stored.statuses),
            "duplicates": stored.duplicates,
            "ignored": stored.foreign,
        }
    )


def _reject(request: WebhookRequest, phone_number_id: str, reason: str) -> Response:
    log.warning("whatsapp: signed but unusable notification: %s", reason)
    reject_webhook(
        platform=PLATFORM,
        shop=phone_number_id,
        delivery_id="sha256:" + hashlib.sha256(request.body).hexdigest(),
        topic="messages",
        body=request.body,
        reason=reason[:255],
    )
    return ok_response({"rejected": reason})
