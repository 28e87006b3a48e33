"""Shopify's cost-based rate limit, read from ``extensions.cost`` of a response.

Shopify answers an over-budget request with ``errors: [{extensions: {code: THROTTLED}}]`` and
the bucket's state (shopify.dev/docs/api/usage/rate-limits)::

    "extensions": {"cost": {"requestedQueryCost": 752, "actualQueryCost": null,
      "throttleStatus": {"maximumAvailable": 1000.0, "currentlyAvailable": 666,
                         "restoreRate": 50.0}}}

The bucket refills at ``restoreRate`` points a second, so the request fits again after
``(requestedQueryCost - currentlyAvailable) / restoreRate`` seconds.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

THROTTLED = "THROTTLED"


@dataclass(frozen=True)
class QueryCost:
    """The cost figures Shopify returns with every Admin GraphQL response."""

    requested: float | None
    actual: float | None
    maximum_available: float | None
    currently_available: float | None
    restore_rate: float | None

    @classmethod
    def from_payload(cls, payload: Mapping[str, Any] | None) -> QueryCost | None:
        """Read ``extensions.cost``; ``None`` when the response has none (e.g. Saleor)."""
        if not isinstance(payload, Mapping):
            return None
        extensions = payload.get("extensions")
        cost = extensions.get("cost") if isinstance(extensions, Mapping) else None
        if not isinstance(cost, Mapping):
            return None
        status = cost.get("throttleStatus")
        status = status if isinstance(status, Mapping) else {}
        return cls(
            requested=_number(cost.get("requestedQueryCost")),
            actual=_number(cost.get("actualQueryCost")),
            maximum_available=_number(status.get("maximumAvailable")),
            currently_available=_number(status.get("currentlyAvailable")),
            restore_rate=_number(status.get("restoreRate")),
        )

    def wait_seconds(self) -> float | None:
        """Seconds until the bucket holds the requested cost; ``None`` if not computable."""
        if (
            self.requested is None
            or self.currently_available is None
            or not self.restore_rate
            or self.restore_rate <= 0
        ):
            return None
        return max(0.0, (self.requested - self.currently_available) / self.restore_rate)


def is_throttled(payload: Mapping[str, Any] | None) -> bool:
    """True when the response's top-level errors include Shopify's ``THROTTLED`` code."""
    if not isinstance(payload, Mapping):
        return False
    errors = payload.get("errors")
    if not isinstance(errors, list):
        return False
    for error in errors:
        extensions = error.get("extensions") if isinstance(error, Mapping) else None
        if isinstance(extensions, Mapping) and extensions.get("code") == THROTTLED:
            return True
    return False


def _number(value: Any) -> float | None:
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        return None
    return float(value)
