"""How a step failure turns into what happens next: retry later, park, or fail.

The rule (connector spec, "Shortening"): retry only what can succeed later. Network errors,
5xx and the short burst limit are retried with capped exponential backoff; the plan limits
(``API_LIMIT_REACHED``, ``SHORTLINK_LIMIT_REACHED``) park the product; any other 4xx fails it
with its error code.
"""

from __future__ import annotations

import random
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime

from kliqs_core.connector.platforms import PermanentPlatformError, PlatformError
from kliqs_core.errors import (
    ApiLimitReachedError,
    KliqsConnectionError,
    KliqsError,
    QuotaError,
    RateLimitError,
    ServerError,
    UnexpectedResponseError,
)

__all__ = [
    "Fail",
    "Outcome",
    "Park",
    "StepError",
    "Transient",
    "backoff_delay",
    "classify_kliqs_error",
    "classify_platform_error",
]


class StepError(Exception):
    """A step could not finish; the subclass says what the runtime does about it."""

    def __init__(self, code: str, message: str) -> None:
        super().__init__(f"{code}: {message}")
        self.code = code
        self.message = message


class Transient(StepError):
    """Retry later with backoff (at least ``retry_after`` seconds when given)."""

    def __init__(self, code: str, message: str, *, retry_after: float | None = None) -> None:
        super().__init__(code, message)
        self.retry_after = retry_after


class Park(StepError):
    """Stop on a plan limit; resume at ``until`` when known, else by ``kliqs connect retry``."""

    def __init__(self, code: str, message: str, *, until: datetime | None = None) -> None:
        super().__init__(code, message)
        self.until = until


class Fail(StepError):
    """Stop with the error code; retrying unchanged cannot help."""


@dataclass(frozen=True)
class Outcome:
    """What one run of the pipeline did with a product."""

    #: ``done``, ``retry``, ``parked``, ``failed``, ``skipped`` (finished or claimed
    #: elsewhere) or ``lost`` (the claim expired mid-run; another worker has it).
    kind: str
    state: str | None = None
    code: str | None = None
    #: Seconds to wait before the next run, for ``retry``.
    countdown: float | None = None


def classify_kliqs_error(exc: KliqsError) -> StepError:
    """Map an SDK error to retry / park / fail."""
    code = exc.code or type(exc).__name__
    if isinstance(exc, ApiLimitReachedError):
        return Park(code, exc.message, until=exc.resets_at)
    if isinstance(exc, QuotaError):
        return Park(code, exc.message)
    if isinstance(exc, RateLimitError):
        return Transient(code, exc.message, retry_after=exc.retry_after)
    if isinstance(exc, ServerError | KliqsConnectionError):
        return Transient(code, exc.message)
    # A proxy's HTML error page is as passing as the 5xx it usually comes with.
    if isinstance(exc, UnexpectedResponseError) and (exc.status is None or exc.status >= 500):
        return Transient(code, exc.message)
    return Fail(code, exc.message)


def classify_platform_error(exc: PlatformError) -> StepError:
    """Map a platform's (or notifier's) typed error to retry / fail."""
    if isinstance(exc, PermanentPlatformError):
        return Fail(exc.code, exc.message)
    return Transient(exc.code, exc.message, retry_after=exc.retry_after)


def backoff_delay(
    attempts: int,
    *,
    base: float,
    cap: float,
    retry_after: float | None = None,
    jitter: Callable[[], float] = random.random,
) -> float:
    """Seconds before retry number ``attempts + 1``: ``base * 2**attempts``, capped, jittered.

    "Equal jitter": half the delay fixed, half random, so workers that failed together do not
    come back together but a retry never comes back at once. ``retry_after`` is a floor.
    """
    ceiling = min(cap, base * (2 ** min(attempts, 30)))
    delay: float = ceiling / 2 + jitter() * ceiling / 2
    return max(delay, retry_after or 0.0)
