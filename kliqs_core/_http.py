"""The HTTP layer: one ``requests`` call per attempt, inside the retry loop.

Everything above this module sees either a ``requests.Response`` (possibly an error status,
mapped by the requestor) or a :class:`~kliqs_core.errors.KliqsConnectionError`.
"""

from __future__ import annotations

import logging
from collections.abc import Mapping
from typing import Any

import requests

from kliqs_core._retry import RetryPolicy
from kliqs_core.errors import KliqsConnectionError

__all__ = ["HttpClient"]

logger = logging.getLogger("kliqs_core")


class HttpClient:
    """Sends requests on one long-lived session, retrying as the :class:`RetryPolicy` decides."""

    def __init__(
        self,
        session: requests.Session,
        *,
        timeout: float,
        max_retries: int,
        policy: RetryPolicy,
    ) -> None:
        self.session = session
        self.timeout = timeout
        self.max_retries = max_retries
        self.policy = policy

    def request(
        self,
        method: str,
        url: str,
        *,
        headers: Mapping[str, str],
        params: Mapping[str, str | int] | None = None,
        json: Any = None,
    ) -> requests.Response:
        """Send with retries; the same ``headers`` (so the same Idempotency-Key) every attempt."""
        attempt = 0
        while True:
            # The policy is asked only while retries remain, so no backoff is drawn in vain.
            retries_left = attempt < self.max_retries
            try:
                response = self.session.request(
                    method,
                    url,
                    headers=dict(headers),
                    params=params,
                    json=json,
                    timeout=self.timeout,
                )
            except requests.RequestException as exc:
                delay = self.policy.delay_for_exception(exc, attempt) if retries_left else None
                if delay is None:
                    message = f"Could not reach the Kliqs API ({method} {url}): {exc}"
                    raise KliqsConnectionError(message) from exc
                reason = type(exc).__name__
            else:
                delay = self.policy.delay_for_response(response, attempt) if retries_left else None
                if delay is None:
                    return response
                reason = f"HTTP {response.status_code}"
                response.close()
            attempt += 1
            logger.info(
                "Kliqs %s %s failed (%s); retry %d/%d in %.2fs",
                method, url, reason, attempt, self.max_retries, delay,
            )
            self.policy.sleep(delay)
