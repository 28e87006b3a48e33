"""When to retry a request and how long to wait first.

Retried: connection failures and timeouts, 5xx, and ``RATE_LIMITED`` after its ``Retry-After``.
Never retried: any other 4xx, in particular ``API_LIMIT_REACHED`` (the wait is until next month).
Backoff is exponential with full jitter and a cap, as in AWS's "Exponential Backoff And Jitter".
"""

from __future__ import annotations

import random
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import requests

from kliqs_core._time import parse_retry_after

__all__ = ["RetryPolicy"]

_RATE_LIMITED = "RATE_LIMITED"


@dataclass(frozen=True)
class RetryPolicy:
    """Backoff settings; subclass and override :meth:`jitter` (or pass ``sleep``) to pin timing.

    The number of retries lives on the client (``max_retries``); this decides the waits.
    """

    #: First backoff step in seconds; step ``n`` (from 0) is ``base * 2**n`` before jitter.
    backoff_base: float = 0.5
    #: No single backoff wait is longer than this.
    backoff_cap: float = 8.0
    #: A ``RATE_LIMITED`` whose ``Retry-After`` is longer than this is raised, not waited out.
    max_retry_after: float = 60.0
    #: Called with the seconds to wait; injectable so tests never really sleep.
    sleep: Callable[[float], None] = field(default=time.sleep, repr=False)

    def jitter(self, delay: float) -> float:
        """Full jitter: a uniform wait in ``[0, delay]``, so clients that failed together spread."""
        return random.uniform(0.0, delay)

    def backoff(self, attempt: int) -> float:
        """The wait before retry ``attempt + 1`` (``attempt`` counts failed tries from 0)."""
        return self.jitter(min(self.backoff_cap, self.backoff_base * 2**attempt))

    def delay_for_exception(self, exc: requests.RequestException, attempt: int) -> float | None:
        """Seconds to wait before retrying after ``exc``, or ``None`` to give up."""
        return self.backoff(attempt) if is_transient(exc) else None

    def delay_for_response(self, response: requests.Response, attempt: int) -> float | None:
        """Seconds to wait before retrying after ``response``, or ``None`` to return it."""
        status = response.status_code
        if status >= 500:
            return self.backoff(attempt)
        if status == 429 and _error_code(response) == _RATE_LIMITED:
            return self._rate_limited_delay(response, attempt)
        return None

    def _rate_limited_delay(self, response: requests.Response, attempt: int) -> float | None:
        retry_after = parse_retry_after(response.headers.get("Retry-After"))
        if retry_after is None:
            return self.backoff(attempt)
        return retry_after if retry_after <= self.max_retry_after else None


def is_transient(exc: requests.RequestException) -> bool:
    """Whether a ``requests`` failure may succeed when tried again."""
    # SSLError is a ConnectionError, but a bad certificate does not heal by itself.
    if isinstance(exc, requests.exceptions.SSLError):
        return False
    transient = (
        requests.ConnectionError,
        requests.Timeout,
        requests.exceptions.ChunkedEncodingError,
    )
    return isinstance(exc, transient)


def _error_code(response: requests.Response) -> str | None:
    try:
        body: Any = response.json()
    except ValueError:
        return None
    code = body.get("error") if isinstance(body, dict) else None
    return code if isinstance(code, str) else None
