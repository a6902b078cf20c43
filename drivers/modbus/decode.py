"""Turn a register's raw words into exact watt-hours, or say why there is no value.

Rules: NaN, ±inf and vendor sentinels mean "no value" (never 0); a number outside
``[0, max_kwh)`` is kept but flagged ``QUESTIONABLE`` (or refused when it cannot
be stored at all). float32 kWh is rounded to the nearest Wh: float32 has a
24-bit significand, so values below 16 384 kWh come back exact to 1 Wh, below
32 768 kWh within 1 Wh, and the step doubles with each power of two above.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass
from fractions import Fraction

from drivers.domain import Quality
from drivers.modbus.datatypes import decode_words
from drivers.modbus.profile import INT64_MAX, EnergyRegister


@dataclass(frozen=True, slots=True, kw_only=True)
class Decoded:
    """A register's value in Wh; ``value_wh`` None means there is none and ``problem`` says why."""

    value_wh: int | None
    quality: Quality = Quality.VALID
    problem: str = ""


def decode_energy(spec: EnergyRegister, words: Sequence[int]) -> Decoded:
    """Decode ``words`` (exactly ``spec.width`` registers) to Wh under ``spec``'s rules."""
    raw = decode_words(
        words, data_type=spec.data_type, byte_order=spec.byte_order, word_order=spec.word_order
    )
    if isinstance(raw, float) and not math.isfinite(raw):
        return Decoded(value_wh=None, problem=f"not a number ({raw})")
    if raw in spec.sentinels:
        return Decoded(value_wh=None, problem=f"vendor 'no value' sentinel {raw!r}")
    value_wh = round(Fraction(raw) * spec.scale)
    if 0 <= value_wh < spec.max_kwh * 1000:
        return Decoded(value_wh=value_wh)
    problem = f"out of range: {value_wh} Wh not in [0, {spec.max_kwh} kWh)"
    if abs(value_wh) > INT64_MAX:
        return Decoded(value_wh=None, problem=problem)
    return Decoded(value_wh=value_wh, quality=Quality.QUESTIONABLE, problem=problem)
