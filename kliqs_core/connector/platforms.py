"""The platform plug-in protocol: what a shop integration gives the connector runtime.

Adding an integration
=====================

A shop platform (WooCommerce, Shopify, Saleor...) is one package under ``integrations/`` and
plugs into the runtime at four points; everything else (inbox, queue, retries, claims,
sweeper, status and retry commands) is shared and lives here once.

1. **A platform object** with ``name``, ``product_url(product)`` and ``write_back(product,
   short_url)`` (the :class:`Platform` protocol below), registered with
   :func:`register_platform`. ``product`` is a read-only
   :class:`~kliqs_core.connector.records.ProductRecord`; ``product.data`` holds what your
   webhook handler stored (handle, permalink...). ``write_back`` must be idempotent (it runs
   again after a crash) and raise :class:`TransientPlatformError` for what may succeed later
   (network, 5xx, throttling: the runtime retries with backoff) and
   :class:`PermanentPlatformError` for what will not (401, 404, validation: the product fails
   with your ``code``, visible in ``kliqs connect status``). Any other exception counts as
   transient, then fails after ``KLIQS_CONNECTOR_MAX_ATTEMPTS``.
2. **A webhook handler** registered with
   :func:`kliqs_core.connector.web.register_webhook_route` (mounted at
   ``/webhooks/<platform>``). It gets a :class:`~kliqs_core.connector.web.WebhookRequest`
   (raw ``body`` bytes, case-insensitive ``headers``), verifies the signature on the raw bytes
   (401 if bad, nothing stored), parses, and calls
   :func:`kliqs_core.connector.inbox.accept_webhook` with a
   :class:`~kliqs_core.connector.inbox.ProductInput` (or ``product=None`` plus an
   ``ignore_reason`` for drafts, echoes of the connector's own write-back and other topics).
   ``accept_webhook`` commits the delivery and product row, then queues the work; answer 200
   after it returns.
3. **A ``setup()`` function** in the module named in ``KLIQS_CONNECTOR_PLUGINS`` (a bare name
   ``woocommerce`` means ``integrations.woocommerce``). The runtime calls it once per process
   (web and worker) at start. Read your settings there, check them with
   :func:`kliqs_core.connector.settings.require` (a listed platform with a missing setting
   stops the start with a message naming it), then register the platform and the route.
   ``setup()`` may run more than once in tests: registering again replaces.
4. **Tests** with recorded fixtures for the shop's HTTP API, and the runtime's fakes from
   :mod:`kliqs_core.connector.testing` for the Kliqs side.

Celery tasks of your own (the WhatsApp bot's sends) go on
:data:`kliqs_core.connector.celery_app.celery_app`; take ids, never credentials.
"""

from __future__ import annotations

from typing import Protocol, runtime_checkable

from kliqs_core.connector.records import ProductRecord

__all__ = [
    "PermanentPlatformError",
    "Platform",
    "PlatformError",
    "TransientPlatformError",
    "UnknownPlatformError",
    "get_platform",
    "register_platform",
    "registered_platforms",
    "unregister_platform",
]


class PlatformError(Exception):
    """A platform (or notifier) step failed; ``code`` is shown to the operator."""

    def __init__(self, code: str, message: str, *, retry_after: float | None = None) -> None:
        super().__init__(f"{code}: {message}")
        self.code = code
        self.message = message
        #: Seconds the platform asked to wait (a throttle), or ``None``.
        self.retry_after = retry_after


class TransientPlatformError(PlatformError):
    """May succeed later (network error, 5xx, throttling): retried with backoff."""


class PermanentPlatformError(PlatformError):
    """Will not succeed by repeating (bad credentials, deleted product): fails visibly."""


class UnknownPlatformError(LookupError):
    """No platform of that name is registered in this process."""


@runtime_checkable
class Platform(Protocol):
    """What a shop platform plug-in provides to the runtime."""

    #: The platform's name: ``"woocommerce"``, ``"shopify"``, ``"saleor"``.
    name: str

    def product_url(self, product: ProductRecord) -> str:
        """The public URL of the product, the destination of its short link."""
        ...

    def write_back(self, product: ProductRecord, short_url: str) -> None:
        """Store ``short_url`` on the product in the shop; idempotent."""
        ...


_PLATFORMS: dict[str, Platform] = {}


def register_platform(platform: Platform) -> None:
    """Register (or replace) the platform under ``platform.name``."""
    if not isinstance(platform, Platform):
        raise TypeError(f"{platform!r} lacks name, product_url() or write_back()")
    _PLATFORMS[platform.name] = platform


def unregister_platform(name: str) -> None:
    """Forget a platform (tests)."""
    _PLATFORMS.pop(name, None)


def get_platform(name: str) -> Platform:
    """The platform registered under ``name``; raises :class:`UnknownPlatformError`."""
    try:
        return _PLATFORMS[name]
    except KeyError:
        known = ", ".join(sorted(_PLATFORMS)) or "none"
        raise UnknownPlatformError(
            f"platform {name!r} is not registered (known: {known})"
        ) from None


def registered_platforms() -> tuple[str, ...]:
    """The names of the registered platforms, sorted."""
    return tuple(sorted(_PLATFORMS))
