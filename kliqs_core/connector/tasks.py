"""The connector's Celery tasks: run one product's pipeline, or a few one after the other.

They take ids, nothing else."""

from __future__ import annotations

import logging
from typing import Any

from kliqs_core.connector import runtime
from kliqs_core.connector.celery_app import celery_app
from kliqs_core.connector.outcomes import Outcome
from kliqs_core.connector.pipeline import run_product

__all__ = ["process_product", "process_products"]

log = logging.getLogger(__name__)


@celery_app.task(  # type: ignore[untyped-decorator]
    name="kliqs.connector.process_product", bind=True, max_retries=None
)
def process_product(self: Any, product_pk: int) -> str:
    """Drive product ``product_pk`` as far as it goes; re-queue it with a countdown on a retry.

    The retry count lives in the product row (``attempts``), not in Celery, so it survives
    re-queues by the sweeper; Celery only carries the countdown.
    """
    outcome = _run(product_pk)
    if outcome.kind == "retry":
        raise self.retry(countdown=outcome.countdown)
    return outcome.kind


@celery_app.task(name="kliqs.connector.process_products")  # type: ignore[untyped-decorator]
def process_products(product_pks: list[int]) -> list[str]:
    """Drive each product in turn (the web process groups a burst's products, see
    :mod:`~kliqs_core.connector.publisher`); a retry is queued as its own ``process_product``
    with the countdown, and one product's crash does not stop the others."""
    kinds = []
    for product_pk in product_pks:
        try:
            outcome = _run(int(product_pk))
        except Exception:  # a crash outside the pipeline's own handling: the sweeper retries
            log.exception("product %s: the run crashed", product_pk)
            kinds.append("crashed")
            continue
        if outcome.kind == "retry":
            process_product.apply_async(args=(int(product_pk),), countdown=outcome.countdown)
        kinds.append(outcome.kind)
    log.info("products %s, one message: %s", list(product_pks), kinds)
    return kinds


def _run(product_pk: int) -> Outcome:
    outcome = run_product(
        product_pk,
        database=runtime.get_database(),
        client=runtime.get_kliqs_client,
        config=runtime.pipeline_config(),
    )
    if outcome.kind != "done":  # "done" is logged by the pipeline itself
        log.info("product %s: %s", product_pk, outcome)
    return outcome
