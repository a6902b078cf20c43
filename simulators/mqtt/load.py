"""Simulated meters: seeded daily load curves integrated into exact Wh registers.

Power follows a household day shape (night trough, morning and evening peaks)
scaled per meter and per day. Energy is integrated over each interval, split at
the hour boundaries where tariff zones change, and credited to the zone register
of ``TariffCalendar`` (Kyiv local time); register 0 is the sum of the zones, so
every published value is an exact integer and the totals always agree.
"""

from __future__ import annotations

import random
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta

from drivers.domain import KYIV, Plan, Register, TariffCalendar, plan_registers

_DAY_SHAPE = (
    0.45,
    0.4,
    0.38,
    0.37,
    0.38,
    0.45,
    0.75,
    1.25,
    1.3,
    1.0,
    0.85,
    0.8,
    0.85,
    0.8,
    0.75,
    0.8,
    0.95,
    1.2,
    1.6,
    1.85,
    1.8,
    1.5,
    1.0,
    0.65,
)
"""Relative household load by local hour (mean about 0.9)."""

_HOUR = timedelta(hours=1)


@dataclass(slots=True)
class SimMeter:
    """One meter's state: its registers and the fractional Wh not yet counted."""

    serial: str
    plan: Plan
    base_w: float
    seed: int
    calendar: TariffCalendar = field(default_factory=TariffCalendar)
    registers: dict[int, int] = field(default_factory=dict)
    _carry: dict[int, float] = field(default_factory=dict)
    _day_factor: dict[date, float] = field(default_factory=dict)

    @classmethod
    def create(cls, serial: str, plan: Plan, seed: int) -> SimMeter:
        rng = random.Random(f"{seed}:{serial}")
        meter = cls(serial=serial, plan=plan, base_w=rng.uniform(150.0, 900.0), seed=seed)
        zones = [r for r in plan_registers(plan) if r != Register.IMPORT_TOTAL]
        for register in zones:
            meter.registers[int(register)] = rng.randrange(0, 20_000_000)
        meter.registers[int(Register.IMPORT_TOTAL)] = (
            sum(meter.registers.values()) if zones else rng.randrange(0, 40_000_000)
        )
        return meter

    def advance(self, start: datetime, end: datetime) -> None:
        """Integrate consumption over [start, end) into the registers."""
        t = start
        while t < end:
            hour_start = t.replace(minute=0, second=0, microsecond=0)
            stop = min(end, hour_start + _HOUR)  # Kyiv offsets are whole hours
            self._credit(t, (stop - t).total_seconds())
            t = stop

    def _credit(self, at: datetime, seconds: float) -> None:
        local = at.astimezone(KYIV)
        watts = self.base_w * _DAY_SHAPE[local.hour] * self._factor(local.date())
        zone = int(self.calendar.zone_at(self.plan, at).register)
        carry = self._carry.get(zone, 0.0) + watts * seconds / 3600.0
        whole = int(carry)
        self._carry[zone] = carry - whole
        self.registers[zone] += whole
        if zone != Register.IMPORT_TOTAL:
            self.registers[int(Register.IMPORT_TOTAL)] += whole

    def _factor(self, day: date) -> float:
        factor = self._day_factor.get(day)
        if factor is None:
            factor = random.Random(f"{self.seed}:{self.serial}:{day}").uniform(0.7, 1.3)
            if len(self._day_factor) > 8:
                self._day_factor.clear()
            self._day_factor[day] = factor
        return factor
