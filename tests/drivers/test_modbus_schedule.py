"""Polls land on clock boundaries (plus the bus offset), through APScheduler, without drift."""

from __future__ import annotations

import asyncio
import itertools
import re
from datetime import UTC, datetime, timedelta

import pytest

from drivers.modbus import (
    ModbusDriver,
    boundary_trigger,
    nearest_slot,
    next_boundary,
    slot_floor,
)
from tests.fixtures.modbus import StartSimulator

T = datetime(2025, 3, 30, 0, 52, 31, 250_000, tzinfo=UTC)  # the night Kyiv moves to summer time


def test_quarter_hour_boundaries() -> None:
    assert slot_floor(T, interval_s=900) == T.replace(minute=45, second=0, microsecond=0)
    assert next_boundary(T, interval_s=900) == datetime(2025, 3, 30, 1, 0, tzinfo=UTC)
    assert next_boundary(T, interval_s=900, offset_s=20) == datetime(
        2025, 3, 30, 0, 45, 20, tzinfo=UTC
    ) + timedelta(minutes=15)


def test_a_wake_up_names_its_own_slot_even_a_little_early_or_late() -> None:
    boundary = datetime(2025, 3, 30, 1, 0, tzinfo=UTC)
    for jitter_ms in (-3, 0, 40, 2000):
        fired = boundary + timedelta(seconds=20, milliseconds=jitter_ms)
        assert nearest_slot(fired, interval_s=900, offset_s=20) == boundary


def test_naive_instants_are_refused() -> None:
    with pytest.raises(ValueError, match="timezone-aware"):
        slot_floor(datetime(2025, 1, 1), interval_s=900)


def test_trigger_fires_on_boundaries_for_days_without_drift() -> None:
    trigger = boundary_trigger(interval_s=900, offset_s=30)
    fire = trigger.get_next_fire_time(None, T)
    assert fire == datetime(2025, 3, 30, 1, 0, 30, tzinfo=UTC)
    for _ in range(4 * 24 * 400):  # 400 days across both DST changes
        fire = trigger.get_next_fire_time(fire, fire)
        assert (fire.minute % 15, fire.second, fire.microsecond) == (0, 30, 0)


ORIGIN_AT = re.compile(r"\?at=(.+Z)$")


async def test_iterating_polls_on_each_boundary(modbus_simulator: StartSimulator) -> None:
    """Live: a 1 s interval with a 0.2 s offset; each delivery's slot is a whole second."""
    sim = await modbus_simulator(meters=2, profiles=("mt32",))
    bus = sim.bus_config(poll_interval_s=1, offset_s=0.2, backoff_max_s=60)
    slots: list[datetime] = []
    async with ModbusDriver(bus, sim.device_configs()) as driver:
        async with asyncio.timeout(6):
            async for delivery in driver:
                reading = delivery.readings[0]
                match = ORIGIN_AT.search(reading.origin)
                assert match
                read_at = datetime.fromisoformat(match.group(1))
                assert timedelta(seconds=0.19) <= read_at - reading.read_at < timedelta(seconds=0.6)
                slots.append(reading.read_at)
                if len(slots) == 6:
                    break
    assert all(s.microsecond == 0 and s.tzinfo is UTC for s in slots)
    per_slot = sorted(set(slots))
    assert [slots.count(s) for s in per_slot] == [2] * len(per_slot)  # one delivery per meter
    assert [b - a for a, b in itertools.pairwise(per_slot)] == [timedelta(seconds=1)] * 2
