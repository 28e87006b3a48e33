"""Process-wide runtime state: settings, database, Kliqs client, queueing and plug-ins.

Everything is built lazily on first use and once per process, never at import. Tests and the
``kliqs`` commands replace parts with the ``set_*`` functions (or
:mod:`kliqs_core.connector.testing`), and :func:`reset` forgets them all.
"""

from __future__ import annotations

import importlib
import importlib.util
import logging
import os
import threading
from collections.abc import Callable
from typing import Any

from kliqs_core.connector.db import Database, upgrade
from kliqs_core.connector.pipeline import LinkCreator, PipelineConfig
from kliqs_core.connector.publisher import Publisher
from kliqs_core.connector.settings import ConnectorConfigError, ConnectorSettings, require

__all__ = [
    "ClientFactory",
    "check_kliqs_client",
    "close_publisher",
    "enqueue_product",
    "enqueue_soon",
    "get_database",
    "get_kliqs_client",
    "get_settings",
    "load_plugins",
    "pipeline_config",
    "reset",
    "set_database",
    "set_enqueuer",
    "set_kliqs_client_factory",
    "set_settings",
    "start_up",
]

log = logging.getLogger(__name__)

ClientFactory = Callable[[ConnectorSettings], LinkCreator]

_lock = threading.RLock()
_settings: ConnectorSettings | None = None
_database: Database | None = None
_client: LinkCreator | None = None
_client_factory: ClientFactory | None = None
_enqueuer: Callable[[int], object] | None = None
_publisher: Publisher | None = None
_loaded_plugins: set[str] = set()
_started = False


def get_settings() -> ConnectorSettings:
    """The settings, read from the environment on first use."""
    global _settings
    with _lock:
        if _settings is None:
            _settings = ConnectorSettings()
        return _settings


def set_settings(settings: ConnectorSettings) -> None:
    """Use these settings from now on (before anything else is built)."""
    global _settings
    with _lock:
        _settings = settings


def get_database() -> Database:
    """The connector database of the settings (not migrated here: see :func:`start_up`)."""
    global _database
    with _lock:
        if _database is None:
            _database = Database(get_settings().database_url)
        return _database


def set_database(database: Database | None) -> None:
    """Use this database from now on."""
    global _database
    with _lock:
        _database = database


def set_kliqs_client_factory(factory: ClientFactory | None) -> None:
    """Build the Kliqs client with ``factory(settings)`` (``None``: the real ``KliqsClient``)."""
    global _client_factory, _client
    with _lock:
        _client_factory, _client = factory, None


def get_kliqs_client() -> LinkCreator:
    """This process' Kliqs client, built on first use (the worker's shorten step)."""
    global _client
    with _lock:
        if _client is None:
            factory = _client_factory or _default_client
            _client = factory(get_settings())
        return _client


def check_kliqs_client() -> None:
    """Fail now, naming the setting, if the worker could not build its Kliqs client later."""
    if _client_factory is None:
        require(get_settings(), "KLIQS_API_KEY", platform="connector worker")


def _default_client(settings: ConnectorSettings) -> LinkCreator:
    from kliqs_core import KliqsClient

    require(settings, "KLIQS_API_KEY", platform="connector worker")
    assert settings.api_key is not None
    return KliqsClient(settings.api_key.get_secret_value(), base_url=settings.api_url)


def set_enqueuer(enqueuer: Callable[[int], object] | None) -> None:
    """Queue products with ``enqueuer(product_pk)`` (``None``: the Celery task)."""
    global _enqueuer
    with _lock:
        _enqueuer = enqueuer


def enqueue_product(product_pk: int) -> None:
    """Queue the product's pipeline run (the Celery task unless replaced)."""
    enqueuer = _enqueuer
    if enqueuer is not None:
        enqueuer(product_pk)
        return
    from kliqs_core.connector.tasks import process_product

    process_product.apply_async(args=(product_pk,))


def enqueue_soon(product_pk: int) -> None:
    """Queue the product's run from a background thread, grouped with others arriving at
    the same moment (:mod:`~kliqs_core.connector.publisher`): what a webhook handler calls,
    so its answer never waits on the broker. A replaced enqueuer (tests) is called at once."""
    global _publisher
    enqueuer = _enqueuer
    if enqueuer is not None:
        enqueuer(product_pk)
        return
    publisher = _publisher
    if publisher is None:
        with _lock:
            if _publisher is None:
                _publisher = Publisher(
                    _task_sender, max_batch=get_settings().connector_publish_batch
                )
            publisher = _publisher
    publisher.submit(product_pk)


def close_publisher() -> None:
    """Send the ids still waiting in :func:`enqueue_soon`'s thread and stop it (shutdown)."""
    global _publisher
    with _lock:
        publisher, _publisher = _publisher, None
    if publisher is not None:
        publisher.close()
        _task_sender.close()


class _TaskSender:
    """Sends the publisher's batches as Celery tasks, over one producer kept between sends.

    Per send, Celery would otherwise take a producer from its pool and check again that the
    queue is declared (copying kombu's queue and exchange objects to bind them): together
    a quarter of a publish (317 -> 237 µs of CPU, Redis). The queue needs no declaring here:
    a message creates it on Redis and on the embedded broker, and workers declare it at start.
    """

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._pool: Any = None
        self._producer: Any = None

    def __call__(self, product_pks: list[int]) -> None:
        from kliqs_core.connector.tasks import process_product, process_products

        # The reprs given: Celery's own (reprlib over the arguments) was a tenth of a publish.
        if len(product_pks) == 1:
            args: tuple[object, ...] = (product_pks[0],)
            task = process_product
        else:
            args, task = (product_pks,), process_products
        with self._lock:
            producer = self._held_producer(task.app.producer_pool)
            try:
                task.apply_async(args=args, argsrepr=repr(args), kwargsrepr="{}",
                                 producer=producer, declare=[])  # fmt: skip
            except Exception:
                self._release()  # Celery's own retries failed: the next send starts afresh
                raise

    def close(self) -> None:
        """Give the producer back to Celery's pool."""
        with self._lock:
            self._release()

    def _held_producer(self, pool: Any) -> Any:
        if pool is not self._pool:  # reconfigured (another broker): the old pool is gone
            self._pool, self._producer = pool, None
        if self._producer is None:
            self._producer = pool.acquire(block=True)
        return self._producer

    def _release(self) -> None:
        producer, self._producer = self._producer, None
        if producer is not None:
            producer.release()


_task_sender = _TaskSender()


def pipeline_config() -> PipelineConfig:
    """The pipeline config of the current settings."""
    return PipelineConfig.from_settings(get_settings())


def load_plugins(modules: tuple[str, ...] | None = None) -> list[str]:
    """Import each plug-in module once and call its ``setup()`` if it has one.

    ``modules`` defaults to ``KLIQS_CONNECTOR_PLUGINS``. A name without a dot is
    ``integrations.<name>`` if that package exists, else a top-level module (``whatsapp`` is
    ``integrations.whatsapp_bot``). A listed module that cannot be imported stops the start:
    listing it is what enables the platform.
    """
    names = get_settings().plugin_modules if modules is None else modules
    loaded: list[str] = []
    with _lock:
        for name in names:
            if name in _loaded_plugins:
                continue
            try:
                module = importlib.import_module(_resolve(name))
            except ImportError as exc:
                raise ConnectorConfigError(f"plug-in {name!r} cannot be imported: {exc}") from exc
            setup = getattr(module, "setup", None)
            if callable(setup):
                setup()
            _loaded_plugins.add(name)
            loaded.append(name)
    if loaded:
        log.info("connector plug-ins loaded: %s", ", ".join(loaded))
    return loaded


#: Short plug-in names whose package is named otherwise.
_ALIASES = {"whatsapp": "integrations.whatsapp_bot"}


def _resolve(name: str) -> str:
    if "." in name:
        return name
    if name in _ALIASES:
        return _ALIASES[name]
    builtin = f"integrations.{name}"
    try:
        found = importlib.util.find_spec(builtin) is not None
    except ImportError:  # no ``integrations`` package at all
        found = False
    return builtin if found else name


def start_up(*, migrate: bool = True) -> ConnectorSettings:
    """Once per process: read settings, load plug-ins, migrate the database."""
    global _started
    with _lock:
        settings = get_settings()
        if _started:
            return settings
        load_plugins()
        if migrate:
            upgrade(get_database())
        _started = True
        return settings


def reset() -> None:
    """Forget everything built or set (tests)."""
    global _settings, _database, _client, _client_factory, _enqueuer, _started
    close_publisher()
    with _lock:
        if _database is not None:
            _database.dispose()
        _settings = _database = _client = _client_factory = _enqueuer = None
        _loaded_plugins.clear()
        _started = False


def _after_fork_in_child() -> None:
    # A prefork child starts with whatever the parent's threads held: a fresh lock, and no
    # HTTP session shared with the parent.
    global _lock, _client, _publisher, _task_sender
    _lock = threading.RLock()
    _client = None
    _publisher = None  # its thread stayed in the parent
    _task_sender = _TaskSender()  # its producer's connection is the parent's


os.register_at_fork(after_in_child=_after_fork_in_child)
