"""Local time as Green Button states it (ESPI ``LocalTimeParameters``): the
standard offset from UTC, the daylight-saving offset, and the rules for when
daylight saving starts and ends, bit-packed as ``DstRuleType`` (espi.xsd).
"""

from __future__ import annotations

from dataclasses import dataclass

SUNDAY = 7
"""Day-of-week field: Monday = 1 … Sunday = 7 (0: not applicable)."""
LAST_WEEKDAY = 7
"""Operator: the last occurrence of the day of the week in the month."""


@dataclass(frozen=True, slots=True, kw_only=True)
class DstRule:
    """One ``DstRuleType``: the local wall-clock moment (in the time in force
    before the change) at which daylight saving starts or ends.

    Bits 0–11 seconds within the hour, 12–16 hour, 17–19 day of the week,
    20–24 day of the month, 25–27 operator, 28–31 month.
    """

    month: int
    operator: int
    weekday: int = 0
    day: int = 0
    hour: int
    seconds: int = 0

    def __post_init__(self) -> None:
        limits = {
            "month": (1, 12),
            "operator": (0, 7),
            "weekday": (0, 7),
            "day": (0, 31),
            "hour": (0, 23),
            "seconds": (0, 3599),
        }
        for name, (low, high) in limits.items():
            if not low <= getattr(self, name) <= high:
                raise ValueError(f"{name} must be {low}..{high}")

    @property
    def value(self) -> int:
        return (
            self.month << 28
            | self.operator << 25
            | self.day << 20
            | self.weekday << 17
            | self.hour << 12
            | self.seconds
        )

    @property
    def hex(self) -> str:
        """Eight hex digits, as ``HexBinary32`` is written."""
        return f"{self.value:08X}"


@dataclass(frozen=True, slots=True, kw_only=True)
class LocalTime:
    tz_offset_s: int
    """Standard time minus UTC, without daylight saving."""
    dst_offset_s: int
    """Daylight-saving time minus standard time."""
    dst_start: DstRule
    dst_end: DstRule


KYIV = LocalTime(
    tz_offset_s=2 * 3600,
    dst_offset_s=3600,
    # the EU rule: 01:00 UTC on the last Sunday of March and of October
    dst_start=DstRule(month=3, operator=LAST_WEEKDAY, weekday=SUNDAY, hour=3),
    dst_end=DstRule(month=10, operator=LAST_WEEKDAY, weekday=SUNDAY, hour=4),
)
"""Europe/Kyiv (EET/EEST)."""
