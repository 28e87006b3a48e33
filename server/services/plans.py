"""Plans and their limits, exactly as the contract's table."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class Plan:
    """A plan's monthly request limit and maximum number of links held."""

    name: str
    requests_per_month: int
    max_links: int


PLANS: dict[str, Plan] = {
    "free": Plan("free", 30, 5),
    "starter": Plan("starter", 1_000, 50),
    "pro": Plan("pro", 10_000, 200),
    "business": Plan("business", 30_000, 500),
}


def get_plan(name: str) -> Plan:
    """The plan called ``name``; raises ``KeyError`` for an unknown plan."""
    return PLANS[name]
