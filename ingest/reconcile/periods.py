"""Billing periods: calendar months in Europe/Kyiv, bounded by the policy's cut-offs.

A period is named by the first day of its month. It runs from the cut-off in
its month to the cut-off in the next (both local wall-clock instants, so March
has 743 hours and October 745). The consumer window of a cut-off runs from
``window_before_days`` before the cut-off date through ``window_until_day`` of
the cut-off month: a reading sent then counts as the reading at the cut-off.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta

from drivers.domain import KYIV
from ingest.reconcile.policy import Policy


def month_of(day: date) -> date:
    """The period (first of the month) that contains ``day``."""
    return day.replace(day=1)


def add_months(period: date, months: int) -> date:
    index = period.year * 12 + period.month - 1 + months
    return date(index // 12, index % 12 + 1, 1)


def parse_period(text: str) -> date:
    """``YYYY-MM`` -> the period's first day."""
    try:
        year, month = (int(part) for part in text.split("-"))
        return date(year, month, 1)
    except ValueError as exc:
        raise ValueError(f"period must be YYYY-MM, got {text!r}") from exc


@dataclass(frozen=True, slots=True, kw_only=True)
class Cutoff:
    """One cut-off instant and the consumer window that counts as a reading at it."""

    at: datetime
    window_start: datetime
    window_end: datetime
    """Exclusive: the start of the day after ``window_until_day``."""


@dataclass(frozen=True, slots=True, kw_only=True)
class PeriodBounds:
    period: date
    opening: Cutoff
    closing: Cutoff

    @property
    def start(self) -> datetime:
        return self.opening.at

    @property
    def end(self) -> datetime:
        return self.closing.at

    @property
    def days(self) -> int:
        """Calendar days in the period (DST does not change the count)."""
        return (add_months(self.period, 1) - self.period).days

    @property
    def label(self) -> str:
        return f"{self.period:%Y-%m}"


def cutoff(month: date, policy: Policy) -> Cutoff:
    """The cut-off of ``month`` (the one that closes the previous period)."""
    day = month.replace(day=policy.cutoff_day)
    at = _local(day, policy.cutoff_time)
    opens = day - timedelta(days=policy.window_before_days)
    closes = month.replace(day=policy.window_until_day) + timedelta(days=1)
    return Cutoff(
        at=at,
        window_start=_local(opens, policy.cutoff_time),
        window_end=_local(closes, time(0)),
    )


def bounds(period: date, policy: Policy) -> PeriodBounds:
    """Cut-offs of ``period`` (any day of the month is accepted)."""
    period = month_of(period)
    return PeriodBounds(
        period=period,
        opening=cutoff(period, policy),
        closing=cutoff(add_months(period, 1), policy),
    )


def period_at(instant: datetime, policy: Policy) -> date:
    """The period whose [start, end) contains ``instant``."""
    local = instant.astimezone(KYIV).date()
    period = month_of(local)
    if instant < cutoff(period, policy).at:
        period = add_months(period, -1)
    return period


def billing_period_for_reading(instant: datetime, policy: Policy) -> date:
    """The period a consumer reading taken at ``instant`` is counted for: the one
    it closes when it falls in a cut-off's window, else the one it falls in."""
    period = period_at(instant, policy)
    for candidate in (add_months(period, 1), period):
        c = cutoff(candidate, policy)
        if c.window_start <= instant < c.window_end:
            return add_months(candidate, -1)
    return period


def _local(day: date, at: time) -> datetime:
    return datetime.combine(day, at, KYIV).astimezone(UTC)
