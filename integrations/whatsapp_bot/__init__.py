"""The Kliqs WhatsApp bot: a Cloud API client, webhook handling, commands and a send limiter.

Framework-free pieces only; the connector wires them into routes and Celery tasks.
"""

from __future__ import annotations

from integrations.whatsapp_bot.client import SentMessage, WhatsAppClient
from integrations.whatsapp_bot.commands import Command, parse_command, reply_language, reply_text
from integrations.whatsapp_bot.errors import (
    Action,
    WhatsAppConnectionError,
    WhatsAppError,
    action_for_code,
)
from integrations.whatsapp_bot.ratelimit import TokenBucket
from integrations.whatsapp_bot.settings import (
    WhatsAppSettings,
    WhatsAppSettingsError,
    load_settings,
)
from integrations.whatsapp_bot.webhooks import (
    InboundMessage,
    MalformedPayload,
    StatusUpdate,
    parse_notification,
    verify_challenge,
    verify_signature,
)

__all__ = [
    "Action",
    "Command",
    "InboundMessage",
    "MalformedPayload",
    "SentMessage",
    "StatusUpdate",
    "TokenBucket",
    "WhatsAppClient",
    "WhatsAppConnectionError",
    "WhatsAppError",
    "WhatsAppSettings",
    "WhatsAppSettingsError",
    "action_for_code",
    "load_settings",
    "parse_command",
    "parse_notification",
    "reply_language",
    "reply_text",
    "verify_challenge",
    "verify_signature",
]
