"""The notify step's hook: a registry of notifiers run once a product's short URL is written back.

A notifier is any callable taking a :class:`~kliqs_core.connector.records.ProductRecord` (with
``short_url`` set). The WhatsApp bot registers one from its plug-in ``setup()``::

    register_notifier("whatsapp", announce_product)

Notifiers run in registration order, in the worker, and must be idempotent: after a crash or a
:class:`~kliqs_core.connector.platforms.TransientPlatformError` from any of them, all run again.
The usual shape is "record the fan-out in your own tables, keyed by product, then queue your
own tasks". Raise ``TransientPlatformError`` to be retried with backoff and
``PermanentPlatformError`` to fail the product with your code. With no notifier registered the
step is a no-op and the product is marked notified.
"""

from __future__ import annotations

from collections.abc import Callable

from kliqs_core.connector.records import ProductRecord

__all__ = ["Notifier", "register_notifier", "registered_notifiers", "unregister_notifier"]

Notifier = Callable[[ProductRecord], None]

_NOTIFIERS: dict[str, Notifier] = {}


def register_notifier(name: str, notifier: Notifier) -> None:
    """Register (or replace) a notifier under ``name``."""
    if not callable(notifier):
        raise TypeError(f"notifier {name!r} is not callable")
    _NOTIFIERS[name] = notifier


def unregister_notifier(name: str) -> None:
    """Forget a notifier (tests)."""
    _NOTIFIERS.pop(name, None)


def registered_notifiers() -> tuple[tuple[str, Notifier], ...]:
    """The registered ``(name, notifier)`` pairs, in registration order."""
    return tuple(_NOTIFIERS.items())
