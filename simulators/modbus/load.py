"""A seeded household load curve (and optional solar), one power value per minute.

The same (seed, unit, minute) always gives the same power, whenever it is asked,
so a meter's energy depends only on the simulated clock, not on when it is read.
"""

from __future__ import annotations

import math
from datetime import UTC, datetime
from functools import lru_cache

from drivers.domain import KYIV

_SHAPE = (
    0.45, 0.40, 0.38, 0.38, 0.40, 0.50, 0.80, 1.30, 1.20, 0.90, 0.80, 0.85,
    0.90, 0.85, 0.80, 0.85, 1.00, 1.30, 1.70, 1.90, 1.80, 1.50, 1.00, 0.65,
)  # fmt: skip
"""Relative load by local hour: low at night, morning and evening peaks."""


def _mix(*parts: int) -> int:
    """splitmix64 over the parts: a fast, well-spread, reproducible hash."""
    x = 0x9E3779B97F4A7C15
    for p in parts:
        x = (x ^ (p & 0xFFFFFFFFFFFFFFFF)) * 0xBF58476D1CE4E5B9 & 0xFFFFFFFFFFFFFFFF
        x = (x ^ (x >> 27)) * 0x94D049BB133111EB & 0xFFFFFFFFFFFFFFFF
        x ^= x >> 31
    return x


@lru_cache(maxsize=8192)
def local_hour(minute: int) -> float:
    """Kyiv local time of epoch minute ``minute`` as fractional hours (DST-aware)."""
    local = datetime.fromtimestamp(minute * 60, UTC).astimezone(KYIV)
    return local.hour + local.minute / 60


class LoadCurve:
    """Per-meter consumption (``base_w`` scaled by the daily shape, ±30 % noise) and solar."""

    def __init__(self, *, seed: int, unit: int, base_w: int, pv_peak_w: int = 0) -> None:
        self.seed = seed
        self.unit = unit
        self.base_w = base_w
        self.pv_peak_w = pv_peak_w

    def power(self, minute: int) -> tuple[int, int]:
        """(import W, export W) during epoch minute ``minute``: net of solar, integers."""
        hour = local_hour(minute)
        noise = 0.7 + 0.6 * _mix(self.seed, self.unit, minute) / 2**64
        load = self.base_w * _SHAPE[int(hour)] * noise
        solar = (
            self.pv_peak_w * max(0.0, math.sin(math.pi * (hour - 6) / 12)) if self.pv_peak_w else 0
        )
        net = round(load - solar)
        return max(net, 0), max(-net, 0)
