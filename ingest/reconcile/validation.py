"""VEE rules on register values: monotonic with plausible rollover, plausibility
from permitted power, digits, clock drift, future dates.

A drop is read as a rollover (at 10^digits kWh) only when the consumption it
implies is plausible for the time between the reads; otherwise it is a drop the
caller flags — a reset is never guessed.
"""

from __future__ import annotations

import enum
from datetime import datetime, timedelta
from typing import NamedTuple

KWH = 1000
"""Consumers and controllers read whole kWh: their values are exact to 1 kWh."""


class Step(enum.StrEnum):
    UP = "up"
    ROLLOVER = "rollover"
    TRUNCATED = "truncated"
    """A whole-kWh reading up to 999 Wh below an exact one: no consumption."""
    DROP = "drop"
    IMPLAUSIBLE = "implausible"


class Advance(NamedTuple):
    """How far a register went from one value to the next (a named tuple: the
    reconciler makes one per candidate)."""

    step: Step
    wh: int
    """Consumption in Wh (0 for TRUNCATED; the raw difference for DROP)."""

    @property
    def ok(self) -> bool:
        return self.step in _OK


_OK = frozenset((Step.UP, Step.ROLLOVER, Step.TRUNCATED))


def rollover_wh(digits: int) -> int:
    """A register with N integer digits rolls over at 10^N kWh."""
    return int(10**digits * KWH)


def cap_wh(power_w: int, span: timedelta, load_factor_pct: int) -> int:
    """Most energy a point can draw in ``span`` at its permitted power."""
    return cap_us(power_w, span // timedelta(microseconds=1), load_factor_pct)


def cap_us(power_w: int, span_us: int, load_factor_pct: int) -> int:
    """``cap_wh`` for a span in microseconds."""
    return power_w * max(0, span_us) * load_factor_pct // 360_000_000_000


def advance(
    start_wh: int, end_wh: int, *, rollover: int, cap: int, whole_kwh: bool = False
) -> Advance:
    """Classify the step from ``start_wh`` to ``end_wh`` (exact Wh).

    ``whole_kwh``: ``end_wh`` was read in whole kWh, so it may sit up to 999 Wh
    below the true value.
    """
    diff = end_wh - start_wh
    if diff >= 0:
        return Advance(Step.UP if diff <= cap else Step.IMPLAUSIBLE, diff)
    if whole_kwh and diff > -KWH:
        return Advance(Step.TRUNCATED, 0)
    wrapped = diff + rollover
    if 0 <= wrapped <= cap:
        return Advance(Step.ROLLOVER, wrapped)
    return Advance(Step.DROP, diff)


def fits_digits(value_kwh: int, digits: int) -> bool:
    """The integer part a consumer types has at most ``digits`` digits."""
    return 0 <= value_kwh < int(10**digits)


def drifted(read_at: datetime, received_at: datetime, tolerance: timedelta) -> bool:
    """An automatic read stamped ahead of its own arrival: the meter's clock runs fast.
    (Late arrival is normal — spooled batches — and is not drift.)"""
    return read_at - received_at > tolerance


def in_future(read_at: datetime, now: datetime, tolerance: timedelta = timedelta(0)) -> bool:
    return read_at > now + tolerance


def scale(wh: int, num: int, den: int) -> int:
    """``wh × num / den`` in integers, truncated toward zero (carrying a rate)."""
    if den <= 0:
        raise ValueError("den must be positive")
    product = wh * num
    return product // den if product >= 0 else -((-product) // den)
