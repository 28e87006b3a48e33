"""The one Celery app of the connector (and of the integrations' own tasks).

Broker: ``KLIQS_BROKER_URL`` (Redis ``redis://...``, or RabbitMQ) or, unset, the embedded
``sqla+sqlite:///<data dir>/broker.sqlite`` that needs no server. Results are ignored: state
lives in the connector database, and the broker only says "look at product N now". Late acks
plus ``task_reject_on_worker_lost`` redeliver a task whose pool process died; what the
SQLAlchemy transport still loses (SIGKILL of the worker's main process, ETA tasks held in
memory) the sweeper brings back from the database. On Redis, kombu's ack emulation (an
"unacked" hash written and cleared around every message, a third of the consumer's work
per task) is off: a message taken by a worker that dies is not redelivered by Redis, and
the sweeper re-queues its product once the run's lease or retry time has passed.

The configuration is built from the settings lazily, when the app is first used.
"""

from __future__ import annotations

from typing import Any

from celery import Celery, signals
from kombu import pools

from kliqs_core.connector.broker import use_fast_sqla_transport
from kliqs_core.connector.settings import ConnectorSettings

__all__ = [
    "build_celery_config",
    "celery_app",
    "close_broker_connections",
    "configure_celery",
    "is_sqla_broker",
]

TASKS_MODULE = "kliqs_core.connector.tasks"

# ``sqla+...`` broker URLs get the adaptive-polling, WAL transport of ``broker.py``.
use_fast_sqla_transport()

celery_app = Celery("kliqs_connector", include=[TASKS_MODULE])


def is_sqla_broker(url: str) -> bool:
    """True for kombu's SQLAlchemy transport (the embedded default)."""
    return url.startswith("sqla+")


def build_celery_config(settings: ConnectorSettings) -> dict[str, Any]:
    """The Celery settings of the connector for ``settings``."""
    broker = settings.effective_broker_url
    sqla = is_sqla_broker(broker)
    if sqla:
        settings.data_dir.mkdir(parents=True, exist_ok=True)
    return {
        "broker_url": broker,
        "broker_connection_retry_on_startup": True,
        "broker_connection_timeout": 5,
        # The SQLAlchemy transport hands every option to create_engine (a polling_interval
        # crashes it); a lock timeout is all it gets. Redis: redeliver after an hour, longer
        # than the longest retry countdown (connector_retry_cap).
        "broker_transport_options": (
            {"connect_args": {"timeout": 30}}
            if sqla
            else {"visibility_timeout": 3600, "ack_emulation": False}
        ),
        "task_acks_late": True,
        "task_reject_on_worker_lost": True,
        "worker_prefetch_multiplier": 1,
        "worker_cancel_long_running_tasks_on_connection_loss": True,
        "task_ignore_result": True,
        "result_backend": None,
        "task_serializer": "json",
        "accept_content": ["json"],
        "task_default_queue": settings.connector_queue,
        # Publishing happens after the webhook is committed: fail fast, the sweeper covers it.
        "task_publish_retry_policy": {
            "max_retries": 2,
            "interval_start": 0,
            "interval_step": 0.5,
            "interval_max": 1,
        },
        # Remote control and events need fanout, which the SQLAlchemy transport lacks.
        "worker_enable_remote_control": not sqla,
        "worker_send_task_events": False,
        "enable_utc": True,
    }


def configure_celery(settings: ConnectorSettings | None = None) -> Celery:
    """(Re)apply the configuration of ``settings`` (default: the runtime's) to the app."""
    from kliqs_core.connector import runtime

    celery_app.conf.update(build_celery_config(settings or runtime.get_settings()))
    close_broker_connections()
    return celery_app


def close_broker_connections() -> None:
    """Close this process' broker connections and producers (kombu keeps them in global pools)."""
    pools.reset()  # type: ignore[no-untyped-call]
    celery_app._pool = None
    if "amqp" in celery_app.__dict__:
        celery_app.amqp._producer_pool = None


def _lazy_config() -> dict[str, Any]:
    from kliqs_core.connector import runtime

    return build_celery_config(runtime.get_settings())


celery_app.add_defaults(_lazy_config)


@signals.worker_init.connect  # type: ignore[untyped-decorator]
def _start_runtime(**_: Any) -> None:
    # Also covers ``celery -A kliqs_core.connector.celery_app worker`` started by hand.
    from kliqs_core.connector import runtime

    runtime.start_up()
