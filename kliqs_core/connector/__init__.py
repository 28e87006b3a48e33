"""The connector runtime that the shop integrations and the WhatsApp bot plug into.

What a plug-in uses (see ``platforms.py`` for the "adding an integration" guide):

- :func:`register_platform` with a :class:`Platform` (``name``, ``product_url``,
  ``write_back``), raising :class:`TransientPlatformError` / :class:`PermanentPlatformError`;
- :func:`register_webhook_route` with a handler taking a :class:`WebhookRequest`, which
  calls :func:`accept_webhook` (or, on the event loop, :func:`accept_webhook_async`) with
  a :class:`ProductInput` before answering 200;
- :func:`register_notifier` for the notify step;
- :func:`require` to check its settings in its ``setup()``.

The Celery app (``kliqs_core.connector.celery_app``) is not imported here, so importing this
package stays cheap for web handlers and tests.
"""

from __future__ import annotations

from kliqs_core.connector.inbox import (
    Accepted,
    ProductInput,
    accept_webhook,
    accept_webhook_async,
    find_product,
    reject_webhook,
    reject_webhook_async,
)
from kliqs_core.connector.models import InboxStatus, ProductState
from kliqs_core.connector.notify import Notifier, register_notifier
from kliqs_core.connector.platforms import (
    PermanentPlatformError,
    Platform,
    PlatformError,
    TransientPlatformError,
    get_platform,
    register_platform,
)
from kliqs_core.connector.records import ProductRecord
from kliqs_core.connector.settings import ConnectorConfigError, ConnectorSettings, require
from kliqs_core.connector.web import (
    WebhookHandler,
    WebhookRequest,
    error_response,
    ok_response,
    register_webhook_route,
)

__all__ = [
    "Accepted",
    "ConnectorConfigError",
    "ConnectorSettings",
    "InboxStatus",
    "Notifier",
    "PermanentPlatformError",
    "Platform",
    "PlatformError",
    "ProductInput",
    "ProductRecord",
    "ProductState",
    "TransientPlatformError",
    "WebhookHandler",
    "WebhookRequest",
    "accept_webhook",
    "accept_webhook_async",
    "error_response",
    "find_product",
    "get_platform",
    "ok_response",
    "register_notifier",
    "register_platform",
    "register_webhook_route",
    "reject_webhook",
    "reject_webhook_async",
    "require",
]
