"""Build a seeded fleet of simulated meters: serials, tariff plans, load curves, start readings."""

from __future__ import annotations

import random
from collections.abc import Sequence

from drivers.domain import Plan, plan_registers
from drivers.modbus import Profile
from simulators.modbus.load import LoadCurve
from simulators.modbus.meter import SimulatedMeter

PLAN_WEIGHTS: dict[Plan, int] = {Plan.SINGLE: 5, Plan.TWO_ZONE: 4, Plan.THREE_ZONE: 1}
"""Share of each household plan in a generated fleet (a guess; tests pin plans explicitly)."""


def build_fleet(
    *,
    profiles: Sequence[Profile],
    count: int,
    first_unit: int,
    seed: int,
    start_ms: int,
    plans: Sequence[Plan] | None = None,
    pv_share: float = 0.2,
) -> tuple[SimulatedMeter, ...]:
    """``count`` meters with unit ids from ``first_unit``; profiles and ``plans`` are cycled.

    Everything random comes from ``seed``: the same seed gives the same fleet.
    Start readings stay below 16 384 kWh so float32 registers are exact to 1 Wh.
    """
    if not 1 <= first_unit <= first_unit + count - 1 <= 247:
        raise ValueError("unit ids must stay within 1..247")
    rng = random.Random(seed)
    serials = rng.sample(range(10_000_000, 100_000_000), count)
    meters = []
    for index in range(count):
        unit = first_unit + index
        plan = (
            plans[index % len(plans)]
            if plans
            else rng.choices(list(PLAN_WEIGHTS), weights=list(PLAN_WEIGHTS.values()))[0]
        )
        pv = rng.random() < pv_share
        meters.append(
            SimulatedMeter(
                unit_id=unit,
                profile=profiles[index % len(profiles)],
                serial=serials[index],
                plan=plan,
                load=LoadCurve(
                    seed=seed,
                    unit=unit,
                    base_w=rng.randint(150, 600),
                    pv_peak_w=rng.randint(1500, 4000) if pv else 0,
                ),
                initial_wh=_start_readings(rng, plan, pv),
                start_ms=start_ms,
            )
        )
    return tuple(meters)


def _start_readings(rng: random.Random, plan: Plan, pv: bool) -> dict[int, int]:
    """Wh per zone key at the start: 1 000..9 000 kWh import, some export with solar."""
    zones = plan_registers(plan)
    start: dict[int, int] = {}
    for zone in zones:
        start[zone] = rng.randint(1_000_000, 9_000_000) // len(zones)
        start[zone + 10] = rng.randint(100_000, 2_000_000) // len(zones) if pv else 0
    return start
