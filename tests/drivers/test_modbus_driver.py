"""The Modbus driver against real pymodbus simulator servers: exact values, faults, transports."""

from __future__ import annotations

import logging
import re
import time
from datetime import UTC, datetime, timedelta

import pytest

from drivers.base import Delivery, Driver
from drivers.domain import Plan, Quality, Register, Source
from drivers.errors import ConfigurationError
from drivers.modbus import BusConfig, DeviceConfig, DeviceState, ModbusDriver
from simulators.modbus import RunningSimulator, SerialPair
from tests.fixtures.modbus import SIM_START, StartSimulator

SLOT = SIM_START
ORIGIN = re.compile(r"^modbus://sim/(\d+)\?at=(\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z)$")


def _read_time(origin: str) -> datetime:
    match = ORIGIN.match(origin)
    assert match, origin
    return datetime.fromisoformat(match.group(2))


def _by_unit(deliveries: list[Delivery]) -> dict[int, Delivery]:
    out: dict[int, Delivery] = {}
    for d in deliveries:
        origins = {x.origin for x in d.readings} | {x.origin for x in d.dead_letters}
        match = ORIGIN.match(next(iter(origins)))
        assert match, origins
        out[int(match.group(1))] = d
    return out


def _assert_exact(sim: RunningSimulator, deliveries: list[Delivery]) -> None:
    """Every register of every meter arrives with the simulator's value for it."""
    got = _by_unit(deliveries)
    assert set(got) == {m.unit_id for m in sim.meters}
    for m in sim.meters:
        readings = {r.register: r for r in got[m.unit_id].readings}
        assert set(readings) == {r.register for r in m.profile.registers}
        for register, reading in readings.items():
            assert reading.value_wh == m.shown_wh(register), (m.unit_id, register)
            assert reading.meter == str(m.serial)
            assert reading.read_at == SLOT
            assert (reading.source, reading.quality) == (Source.AUTO, Quality.VALID)


async def test_float32_big_endian_values_arrive_exactly(modbus_simulator: StartSimulator) -> None:
    sim = await modbus_simulator(meters=3, profiles=("sdm630", "sdm120", "sdm72d"))
    async with ModbusDriver(sim.bus_config(), sim.device_configs()) as driver:
        assert isinstance(driver, Driver)
        deliveries = await driver.poll_once(SLOT)
    _assert_exact(sim, deliveries)
    truths = [m.truth_wh(Register.IMPORT_TOTAL) for m in sim.meters]
    assert any(t % 10 for t in truths)  # the values exercise single-Wh resolution
    for m in sim.meters:  # below 16 384 kWh float32 carries the meter's exact Wh
        assert m.shown_wh(Register.IMPORT_TOTAL) == m.truth_wh(Register.IMPORT_TOTAL)


async def test_multi_tariff_counters_land_in_registers_1_to_4(
    modbus_simulator: StartSimulator,
) -> None:
    sim = await modbus_simulator(
        meters=3, profiles=("mt32",), plans=(Plan.SINGLE, Plan.TWO_ZONE, Plan.THREE_ZONE)
    )
    async with ModbusDriver(sim.bus_config(), sim.device_configs()) as driver:
        deliveries = await driver.poll_once(SLOT)
    _assert_exact(sim, deliveries)
    got = _by_unit(deliveries)
    three_zone = {r.register: r.value_wh for r in got[3].readings}
    # T1 peak, T2 half-peak, T3 night all hold energy; T4 is unused on household plans
    assert all(three_zone[r] > 0 for r in (1, 2, 3))
    assert three_zone[Register.IMPORT_T4] == 0
    assert three_zone[0] >= three_zone[1] + three_zone[2] + three_zone[3]
    for reading in got[2].readings:  # 0.01 kWh counters: Wh values are multiples of 10
        assert reading.value_wh % 10 == 0


async def test_origin_carries_the_actual_read_time(modbus_simulator: StartSimulator) -> None:
    sim = await modbus_simulator(meters=1)
    before = datetime.now(UTC)
    async with ModbusDriver(sim.bus_config(), sim.device_configs()) as driver:
        (delivery,) = await driver.poll_once(SLOT)
    after = datetime.now(UTC)
    at = _read_time(delivery.readings[0].origin)
    assert before - timedelta(milliseconds=1) <= at <= after
    assert delivery.readings[0].read_at == SLOT != at


async def test_serial_is_read_once_or_taken_from_config(modbus_simulator: StartSimulator) -> None:
    sim = await modbus_simulator(meters=2, profiles=("mt32",))
    async with ModbusDriver(sim.bus_config(name="a"), sim.device_configs()) as driver:
        for k in range(3):
            await driver.poll_once(SLOT + timedelta(minutes=15 * k))
        assert [s.requests for s in driver.stats()] == [1 + 3, 1 + 3]
        assert [s.serial for s in driver.stats()] == [str(m.serial) for m in sim.meters]
    override = [DeviceConfig(unit_id=1, profile="mt32", serial="EXT-42")]
    async with ModbusDriver(sim.bus_config(name="b"), override) as driver:
        (delivery,) = await driver.poll_once(SLOT)
        assert driver.stats()[0].requests == 1
    assert {r.meter for r in delivery.readings} == {"EXT-42"}


async def test_nan_is_a_dead_letter_never_zero(modbus_simulator: StartSimulator) -> None:
    sim = await modbus_simulator(meters=3, profiles=("sdm630", "mt32"), nan=frozenset({1, 2}))
    async with ModbusDriver(sim.bus_config(), sim.device_configs()) as driver:
        got = _by_unit(await driver.poll_once(SLOT))
    for unit in (1, 2):  # float NaN on the SDM, the all-ones sentinel on the counter meter
        assert got[unit].readings == ()
        assert len(got[unit].dead_letters) == len(sim.meter(unit).profile.registers)
        for letter in got[unit].dead_letters:
            assert letter.kind == "modbus"
            assert str(sim.meter(unit).serial) in letter.reason
            assert letter.payload in (b"\x7f\xc0\x00\x00", b"\xff\xff\xff\xff")
    assert got[3].dead_letters == ()
    assert all(r.value_wh > 0 for r in got[3].readings if r.register == 0)


async def test_dead_meter_costs_one_timeout_and_backs_off(
    modbus_simulator: StartSimulator, caplog: pytest.LogCaptureFixture
) -> None:
    """10 meters on one bus, unit 1 dead, 1 s timeout: the others deliver every cycle."""
    caplog.set_level(logging.DEBUG, logger="drivers.modbus")
    sim = await modbus_simulator(meters=10, profiles=("sdm630", "mt32"), dead=frozenset({1}))
    bus = sim.bus_config(timeout_s=1.0, poll_interval_s=60, breaker_threshold=2)
    interval = timedelta(seconds=60)
    live = {m.unit_id for m in sim.meters} - {1}
    timeline = []
    async with ModbusDriver(bus, sim.device_configs()) as driver:
        for k in range(4):
            slot = SLOT + k * interval
            started = time.monotonic()
            deliveries = await driver.poll_once(slot)
            elapsed = time.monotonic() - started
            dead = next(s for s in driver.stats() if s.unit_id == 1)
            timeline.append((dead.state, dead.timeouts, dead.skipped_cycles))
            assert set(_by_unit(deliveries)) == live, k
            assert all(r.read_at == slot for d in deliveries for r in d.readings)
            attempted = k in (0, 1, 3)  # backed off after 2 failures: cycle 2 skipped, 3 probes
            assert elapsed < (1.5 if attempted else 0.5), (k, elapsed)
            assert elapsed >= (1.0 if attempted else 0.0), (k, elapsed)
        assert timeline == [
            (DeviceState.FAILING, 1, 0),
            (DeviceState.BACKOFF, 2, 0),
            (DeviceState.BACKOFF, 2, 1),
            (DeviceState.BACKOFF, 3, 1),
        ]
        probe_at = next(s for s in driver.stats() if s.unit_id == 1).next_attempt_at
        assert probe_at == SLOT + 3 * interval + 4 * interval  # back-off doubled
        sim.meter(1).faults.dead = False
        assert await driver.poll_once(SLOT + 4 * interval) != []
        assert len(await driver.poll_once(probe_at)) == 10  # the probe brings it back
        recovered = next(s for s in driver.stats() if s.unit_id == 1)
        assert (recovered.state, recovered.serial) == (DeviceState.OK, str(sim.meter(1).serial))
        assert recovered.last_success_at is not None
        assert all(s.state is DeviceState.OK and s.errors == 0 for s in driver.stats()[1:])
    unit1 = [r for r in caplog.records if "modbus://sim/1 " in r.getMessage()]
    assert [r.levelno for r in unit1 if r.levelno >= logging.INFO] == [logging.ERROR, logging.INFO]
    assert "recovered" in unit1[-1].getMessage()


async def test_failing_meter_is_polled_after_the_healthy_ones(
    modbus_simulator: StartSimulator,
) -> None:
    sim = await modbus_simulator(meters=4, dead=frozenset({1}))
    bus = sim.bus_config(timeout_s=0.5, poll_interval_s=60)
    async with ModbusDriver(bus, sim.device_configs()) as driver:
        await driver.poll_once(SLOT)  # unit 1 goes bad (first in unit order this time)
        started = datetime.now(UTC)
        deliveries = await driver.poll_once(SLOT + timedelta(seconds=60))
    assert len(deliveries) == 3
    times = [_read_time(d.readings[0].origin) for d in deliveries]
    assert max(times) - started < timedelta(seconds=0.3)  # nobody waited for unit 1


async def test_slow_meter_still_delivers(modbus_simulator: StartSimulator) -> None:
    sim = await modbus_simulator(meters=3, slow=frozenset({2}), slow_s=0.3)
    async with ModbusDriver(sim.bus_config(timeout_s=1.0), sim.device_configs()) as driver:
        started = time.monotonic()
        deliveries = await driver.poll_once(SLOT)
        elapsed = time.monotonic() - started
    _assert_exact(sim, deliveries)
    assert 0.6 <= elapsed < 1.0  # serial + values: two slow answers, no timeout


async def test_busy_answer_is_retried(modbus_simulator: StartSimulator) -> None:
    sim = await modbus_simulator(meters=1)
    sim.meter(1).faults.busy = 1
    async with ModbusDriver(sim.bus_config(retries=1), sim.device_configs()) as driver:
        deliveries = await driver.poll_once(SLOT)
        stats = driver.stats()[0]
    _assert_exact(sim, deliveries)
    assert (stats.requests, stats.errors, stats.state) == (3, 1, DeviceState.OK)
    sim.meter(1).faults.busy = 1
    async with ModbusDriver(sim.bus_config(retries=0), sim.device_configs()) as driver:
        assert await driver.poll_once(SLOT) == []
        assert driver.stats()[0].state is DeviceState.FAILING


async def test_rtu_over_tcp_round_trip_keeps_the_frame_gap(
    modbus_simulator: StartSimulator,
) -> None:
    sim = await modbus_simulator(meters=4, profiles=("mt32", "sdm630"), framing="rtu-over-tcp")
    bus = sim.bus_config(inter_frame_gap_s=0.05)
    assert bus.transport == "rtu-over-tcp"
    async with ModbusDriver(bus, sim.device_configs(with_serial=True)) as driver:
        started = time.monotonic()
        deliveries = await driver.poll_once(SLOT)
        elapsed = time.monotonic() - started
    _assert_exact(sim, deliveries)
    assert elapsed >= 3 * 0.05  # four requests, three silent gaps between them


async def test_serial_rtu_over_a_pty_pair(
    serial_pair: SerialPair, modbus_simulator: StartSimulator
) -> None:
    """RTU on a serial port: the pair is set up first so the server closes before the ptys."""
    sim = await modbus_simulator(
        meters=3, profiles=("mt32", "sdm120"), framing="rtu", serial_port=serial_pair.b
    )
    bus = BusConfig(
        name="sim", transport="rtu", serial_port=serial_pair.a, baudrate=9600, timeout_s=1.0
    )
    async with ModbusDriver(bus, sim.device_configs()) as driver:
        deliveries = await driver.poll_once(SLOT)
    _assert_exact(sim, deliveries)


async def test_unreachable_bus_is_logged_once_and_spares_the_devices(
    caplog: pytest.LogCaptureFixture,
) -> None:
    caplog.set_level(logging.DEBUG, logger="drivers.modbus")
    bus = BusConfig(name="gone", host="127.0.0.1", port=1, timeout_s=0.5)
    devices = [DeviceConfig(unit_id=u, profile="sdm630") for u in (1, 2)]
    async with ModbusDriver(bus, devices) as driver:
        for k in range(3):
            assert await driver.poll_once(SLOT + timedelta(minutes=15 * k)) == []
        assert {s.state for s in driver.stats()} == {DeviceState.UNKNOWN}
    ours = [r for r in caplog.records if r.name == "drivers.modbus"]
    loud = [r for r in ours if r.levelno >= logging.WARNING]
    assert len(ours) == 3
    assert len(loud) == 1
    assert "bus gone down" in loud[0].getMessage()


async def test_one_owner_per_bus(modbus_simulator: StartSimulator) -> None:
    sim = await modbus_simulator(meters=1)
    devices = sim.device_configs()
    async with ModbusDriver(sim.bus_config(name="first"), devices):
        with pytest.raises(ConfigurationError, match="already owned by bus first"):
            async with ModbusDriver(sim.bus_config(name="second"), devices):
                pass
    async with ModbusDriver(sim.bus_config(name="second"), devices) as driver:
        assert len(await driver.poll_once(SLOT)) == 1


def test_bad_device_lists_are_refused() -> None:
    bus = BusConfig(name="b", host="127.0.0.1")
    with pytest.raises(ConfigurationError, match="twice"):
        ModbusDriver(bus, [DeviceConfig(unit_id=1, profile="sdm630")] * 2)
    with pytest.raises(ConfigurationError, match="unknown Modbus profile"):
        ModbusDriver(bus, [DeviceConfig(unit_id=1, profile="nope")])


async def test_naive_slot_is_refused(modbus_simulator: StartSimulator) -> None:
    sim = await modbus_simulator(meters=1)
    async with ModbusDriver(sim.bus_config(), sim.device_configs()) as driver:
        with pytest.raises(ValueError, match="timezone-aware"):
            await driver.poll_once(datetime(2025, 1, 1))


async def test_cycle_budget_leaves_out_a_second_timeout(
    modbus_simulator: StartSimulator, caplog: pytest.LogCaptureFixture
) -> None:
    """Two dead meters, room for one timeout: the cycle stays within its budget."""
    sim = await modbus_simulator(meters=5, dead=frozenset({1, 2}))
    bus = sim.bus_config(timeout_s=1.0, cycle_budget_s=1.3, poll_interval_s=60)
    async with ModbusDriver(bus, sim.device_configs()) as driver:
        await driver.poll_once(SLOT)  # both go bad (2 timeouts: nothing was known yet)
        started = time.monotonic()
        deliveries = await driver.poll_once(SLOT + timedelta(seconds=60))
        elapsed = time.monotonic() - started
        timeouts = {s.unit_id: s.timeouts for s in driver.stats()}
    assert set(_by_unit(deliveries)) == {3, 4, 5}
    assert elapsed < 1.3
    assert timeouts == {1: 2, 2: 1, 3: 0, 4: 0, 5: 0}
    assert any("cycle budget" in r.getMessage() for r in caplog.records)
