"""Consumption per billing period, for the Green Button ``UsageSummary``.

Billing periods are the reconciler's (``ingest.reconcile.periods``: calendar
months in Kyiv between the policy's cut-offs). The totals are sums of buckets
small enough that none straddles a cut-off or an edge of the exported
buckets: ``grain`` names that bucket size. A cut-off that is not on a whole
hour (a policy with minutes in ``cutoff_time``) cannot be met by any bucket:
then an hour counts for the period in which it starts.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date, datetime, time

from ingest.portal.consumption import BASE, Bucket, GroupBy
from ingest.reconcile.periods import bounds, period_at
from ingest.reconcile.policy import Policy

_FINENESS: dict[GroupBy, int] = {"hour": 0, "day": 1, "month": 2}


@dataclass(frozen=True, slots=True, kw_only=True)
class PeriodUsage:
    """One billing period's consumption within an export."""

    period: date
    """The period's name: the first day of its month."""
    start: datetime
    end: datetime
    """``[start, end)``: the part of the period the export has readings for."""
    period_end: datetime
    """The cut-off that ends the period (after ``end`` when only part is exported)."""
    wh: int | None
    """All zones together; None when any bucket's value is unknown."""

    def __post_init__(self) -> None:
        if not self.start < self.end <= self.period_end:
            raise ValueError("need start < end <= period_end")


def grain(group_by: GroupBy, policy: Policy) -> GroupBy:
    """The coarsest bucket size whose edges fall on the policy's cut-offs and on
    the edges of ``group_by`` buckets."""
    if policy.cutoff_time != time(0):
        cutoffs: GroupBy = "hour"
    elif policy.cutoff_day != 1:
        cutoffs = "day"
    else:
        cutoffs = "month"
    return min(cutoffs, BASE[group_by], key=_FINENESS.__getitem__)


def per_period(buckets: Sequence[Bucket], policy: Policy) -> list[PeriodUsage]:
    """Buckets (oldest first, of ``grain`` size) summed per billing period."""
    groups: dict[date, list[Bucket]] = {}
    for b in buckets:
        groups.setdefault(period_at(b.interval_start, policy), []).append(b)
    out = []
    for period, rows in groups.items():
        values = [b.wh for b in rows]
        out.append(
            PeriodUsage(
                period=period,
                start=rows[0].interval_start,
                end=rows[-1].interval_end,
                period_end=max(bounds(period, policy).end, rows[-1].interval_end),
                wh=None if None in values else sum(v for v in values if v is not None),
            )
        )
    return out
