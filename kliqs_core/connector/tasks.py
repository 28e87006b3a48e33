"""The connector's Celery task: run one product's pipeline. It takes the id, nothing else."""

from __future__ import annotations

import logging
from typing import Any

from kliqs_core.connector import runtime
from kliqs_core.connector.celery_app import celery_app
from kliqs_core.connector.pipeline import run_product

__all__ = ["process_product"]

log = logging.getLogger(__name__)


@celery_app.task(  # type: ignore[untyped-decorator]
    name="kliqs.connector.process_product", bind=True, max_retries=None
)
def process_product(self: Any, product_pk: int) -> str:
    """Drive product ``product_pk`` as far as it goes; re-queue it with a countdown on a retry.

    The retry count lives in the product row (``attempts``), not in Celery, so it survives
    re-queues by the sweeper; Celery only carries the countdown.
    """
    outcome = run_product(
        product_pk,
        database=runtime.get_database(),
        client=runtime.get_kliqs_client,
        config=runtime.pipeline_config(),
    )
    log.info("product %s: %s", product_pk, outcome)
    if outcome.kind == "retry":
        raise self.retry(countdown=outcome.countdown)
    return outcome.kind
