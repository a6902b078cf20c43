"""Estimates when no valid reading exists: average daily consumption.

The same month last year when the point has a valid result for it (and the
policy prefers it: it carries the season), else the average over the last N
valid periods. Valid: status actual or corrected, consumption not negative.
"""

from __future__ import annotations

from ingest.reconcile.policy import Policy

DAY_US = 86_400_000_000
"""A day in microseconds (instants are Micros; a day here is 24 hours)."""


def daily_rate(
    last_year_wh: int | None,
    recent_wh: int | None,
    recent_days: int | None,
    policy: Policy,
    last_year_days: int,
) -> tuple[int, int, str] | None:
    """``(wh, days, why)``: ``wh`` consumed over ``days`` days, or None without history."""
    if policy.estimation_last_year and last_year_wh is not None:
        return last_year_wh, last_year_days, "the same month last year"
    if recent_wh is not None and recent_days:
        return recent_wh, recent_days, "the last valid periods"
    return None


def estimate_wh(
    last_year_wh: int | None,
    recent_wh: int | None,
    recent_days: int | None,
    policy: Policy,
    last_year_days: int,
    span_us: int,
) -> tuple[int, str] | None:
    """Estimated consumption over ``span_us`` and how it was made, or None."""
    rate = daily_rate(last_year_wh, recent_wh, recent_days, policy, last_year_days)
    if rate is None:
        return None
    wh, days, why = rate
    estimate = wh * span_us // (days * DAY_US)
    return estimate, f"{wh // days} Wh/day over {days} days of {why}"
