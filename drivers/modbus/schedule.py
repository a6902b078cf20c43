"""Clock-aligned slots: polls fire on boundaries (``:00/:15/:30/:45`` for 900 s) plus a bus offset.

Boundaries are multiples of the interval counted from the Unix epoch in UTC, so
they never drift and never depend on when the process started. Kyiv's UTC offsets
are whole hours, so 15-minute boundaries are the same in local time.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from apscheduler.triggers.interval import IntervalTrigger

EPOCH = datetime(1970, 1, 1, tzinfo=UTC)
_US = timedelta(microseconds=1)


def _aware(instant: datetime) -> datetime:
    if instant.tzinfo is None or instant.utcoffset() is None:
        raise ValueError(f"instant must be timezone-aware, got {instant!r}")
    return instant


def slot_floor(instant: datetime, *, interval_s: float) -> datetime:
    """The boundary at or before ``instant`` (aware UTC)."""
    step = round(interval_s * 1_000_000)
    micros = (_aware(instant) - EPOCH) // _US
    return EPOCH + (micros - micros % step) * _US


def nearest_slot(instant: datetime, *, interval_s: float, offset_s: float = 0.0) -> datetime:
    """The slot a wake-up at ``instant`` belongs to: the boundary nearest ``instant - offset``.

    Rounding (not flooring) keeps a timer that fires a millisecond early on its own slot.
    """
    shifted = _aware(instant) - timedelta(seconds=offset_s)
    return slot_floor(shifted + timedelta(seconds=interval_s / 2), interval_s=interval_s)


def next_boundary(instant: datetime, *, interval_s: float, offset_s: float = 0.0) -> datetime:
    """The first fire time (boundary + offset) strictly after ``instant``."""
    shifted = _aware(instant) - timedelta(seconds=offset_s)
    slot = slot_floor(shifted, interval_s=interval_s) + timedelta(seconds=interval_s)
    return slot + timedelta(seconds=offset_s)


def boundary_trigger(*, interval_s: float, offset_s: float = 0.0) -> IntervalTrigger:
    """An APScheduler trigger firing at every ``epoch + offset + k * interval`` (UTC, no drift)."""
    return IntervalTrigger(
        seconds=interval_s,
        start_date=EPOCH + timedelta(seconds=offset_s),
        timezone=UTC,
    )
