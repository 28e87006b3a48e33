"""The Kliqs WhatsApp bot: a Cloud API client, webhook handling, commands and a send limiter.

The pieces imported here are framework-free. As a connector plug-in
(``KLIQS_CONNECTOR_PLUGINS=whatsapp``), :func:`setup` wires the bot into the runtime: the
``/webhooks/whatsapp`` route, the product broadcast on the notify step, its Celery tasks and
its sweeper (see ``plugin.py``).
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



def setup() -> None:
    """Connector plug-in entry point: check the settings, register route, notifier and tasks."""
    from integrations.whatsapp_bot.plugin import setup as _setup

    _setup()


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
    "setup",
    "verify_challenge",
    "verify_signature",
]
