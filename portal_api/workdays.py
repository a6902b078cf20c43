"""Working days for the disconnection notice (DOMAIN.md: at least 10 working
days ahead). A working day is Monday to Friday and not a configured holiday
(under martial law Ukraine's public holidays are working days, so the default
list is empty)."""

from __future__ import annotations

from collections.abc import Collection
from datetime import date, timedelta


def is_working(day: date, holidays: Collection[date]) -> bool:
    return day.weekday() < 5 and day not in holidays


def add_working_days(start: date, days: int, holidays: Collection[date]) -> date:
    """The ``days``-th working day after ``start`` (``start`` itself not counted)."""
    day = start
    counted = 0
    while counted < days:
        day += timedelta(days=1)
        if is_working(day, holidays):
            counted += 1
    return day


def earliest_disconnection(issued_on: date, notice_days: int, holidays: Collection[date]) -> date:
    """The first day a disconnection may happen after a warning issued on
    ``issued_on``: ``notice_days`` full working days must pass in between."""
    return add_working_days(issued_on, notice_days, holidays) + timedelta(days=1)
