"""The Modbus simulator: seeded, exact, monotonic energy split by the tariff calendar,
encoded in each profile's own format and served by real pymodbus servers."""

from __future__ import annotations

import asyncio
import math
import re
import signal
import struct
import sys
from datetime import timedelta

import pytest
from pymodbus.client import AsyncModbusTcpClient

from drivers.domain import Plan, Register
from drivers.modbus import PROFILES, ModbusDriver
from simulators.modbus import SimClock, SimulatedMeter, build_fleet
from simulators.modbus.clock import EPOCH
from tests.fixtures.modbus import SIM_START, StartSimulator

START_MS = (SIM_START - EPOCH) // timedelta(milliseconds=1)


def _fleet(seed: int, count: int = 6) -> tuple[SimulatedMeter, ...]:
    return build_fleet(
        profiles=[PROFILES["mt32"], PROFILES["sdm630"]],
        count=count,
        first_unit=1,
        seed=seed,
        start_ms=START_MS,
    )


def _registers(meter: SimulatedMeter) -> dict[int, int]:
    return {r.register: meter.truth_wh(r.register) for r in meter.profile.registers}


def test_same_seed_same_fleet_other_seed_other_fleet() -> None:
    def summary(seed: int) -> list[tuple[int, Plan, int, dict[int, int]]]:
        return [(m.serial, m.plan, m.load.base_w, _registers(m)) for m in _fleet(seed)]

    assert summary(7) == summary(7)
    assert summary(7) != summary(8)
    assert len({m.serial for m in _fleet(7, count=200)}) == 200


def test_clock_accelerates_freezes_and_only_moves_forward() -> None:
    real = [100.0]
    clock = SimClock(start=SIM_START, accelerate=60, monotonic=lambda: real[0])
    real[0] += 2.0
    assert clock.now() == SIM_START + timedelta(minutes=2)
    clock.advance(30)
    assert clock.now() == SIM_START + timedelta(minutes=2, seconds=30)
    with pytest.raises(ValueError, match="forward"):
        clock.advance(-1)
    frozen = SimClock(start=SIM_START, accelerate=0, monotonic=lambda: real[0])
    real[0] += 1000
    assert frozen.now() == SIM_START


def test_energy_is_exact_whatever_the_read_pattern() -> None:
    """Reading often or rarely gives the same Wh: energy depends on simulated time only."""
    often, rarely = _fleet(3)[0], _fleet(3)[0]
    end = START_MS + 26 * 3600 * 1000
    previous = _registers(often)
    t = START_MS
    while t < end:
        t = min(t + 590_122, end)  # odd steps (9 min 50.122 s) crossing minutes and hours
        often.advance_to(t)
        now = _registers(often)
        assert all(now[r] >= previous[r] for r in now)  # monotonic
        previous = now
    rarely.advance_to(end)
    assert _registers(often) == _registers(rarely)
    assert previous[Register.IMPORT_TOTAL] > _registers(_fleet(3)[0])[Register.IMPORT_TOTAL]


async def _poll(driver: ModbusDriver, k: int) -> dict[int, dict[int, int]]:
    deliveries = await driver.poll_once(SIM_START + timedelta(hours=k))
    out: dict[int, dict[int, int]] = {}
    for d in deliveries:
        unit = int(re.match(r"modbus://sim/(\d+)", d.readings[0].origin).group(1))  # type: ignore[union-attr]
        out[unit] = {r.register: r.value_wh for r in d.readings}
    return out


async def test_energy_goes_to_the_zone_of_the_hour(modbus_simulator: StartSimulator) -> None:
    """Frozen clock at 12:00 Kyiv; step it an hour at a time and read through the driver."""
    sim = await modbus_simulator(
        meters=2, profiles=("mt32",), plans=(Plan.TWO_ZONE, Plan.THREE_ZONE), pv_share=0
    )
    async with ModbusDriver(sim.bus_config(), sim.device_configs(with_serial=True)) as driver:
        before = await _poll(driver, 0)
        sim.clock.advance(3600)  # 12:00-13:00 Kyiv: two-zone day (T1), three-zone half-peak (T2)
        noon = await _poll(driver, 1)
        sim.clock.advance(10 * 3600)  # to 23:00 Kyiv
        late = await _poll(driver, 11)
        sim.clock.advance(3600)  # 23:00-24:00: night (two-zone T2, three-zone T3)
        night = await _poll(driver, 12)
    for unit, zone_noon, zone_night in ((1, 1, 2), (2, 2, 3)):
        for a, b, zone in ((before, noon, zone_noon), (late, night, zone_night)):
            delta = {r: b[unit][r] - a[unit][r] for r in (0, 1, 2, 3, 4)}
            assert delta[zone] > 0
            assert all(delta[r] == 0 for r in (1, 2, 3, 4) if r != zone), (unit, delta)
            assert abs(delta[0] - delta[zone]) <= 10  # counters floor to 0.01 kWh each


async def test_registers_hold_the_profile_encoding(modbus_simulator: StartSimulator) -> None:
    """Read raw words with a plain pymodbus client, independent of the driver's decoder."""
    sim = await modbus_simulator(meters=2, profiles=("mt32", "sdm630"))
    mt32, sdm = sim.meter(1), sim.meter(2)
    client = AsyncModbusTcpClient(sim.host, port=sim.port, timeout=0.3, retries=0)
    await client.connect()
    try:
        raw = (await client.read_holding_registers(0x0100, count=2, device_id=1)).registers
        counts = mt32.truth_wh(Register.IMPORT_TOTAL) // 10
        assert raw == [counts & 0xFFFF, counts >> 16]  # low word first
        serial = (await client.read_holding_registers(0x0010, count=2, device_id=1)).registers
        assert serial[0] + (serial[1] << 16) == mt32.serial
        raw = (await client.read_input_registers(0x0048, count=2, device_id=2)).registers
        kwh = struct.unpack(">f", struct.pack(">HH", *raw))[0]
        assert round(kwh * 1000) == sdm.truth_wh(Register.IMPORT_TOTAL)
        serial = (await client.read_holding_registers(0xFC00, count=2, device_id=2)).registers
        assert (serial[0] << 16) + serial[1] == sdm.serial
        sdm.faults.nan = True
        raw = (await client.read_input_registers(0x0048, count=2, device_id=2)).registers
        assert math.isnan(struct.unpack(">f", struct.pack(">HH", *raw))[0])
        sdm.faults.busy = 1
        busy = await client.read_input_registers(0x0048, count=2, device_id=2)
        assert busy.isError()
        assert busy.exception_code == 6
        mt32.faults.dead = True
        for unit in (1, 99):  # a dead meter and an absent unit id both stay silent
            with pytest.raises(TimeoutError):
                async with asyncio.timeout(0.2):
                    await client.read_holding_registers(0x0100, count=2, device_id=unit)
    finally:
        client.close()


async def test_accelerated_clock_advances_the_registers(modbus_simulator: StartSimulator) -> None:
    sim = await modbus_simulator(meters=1, profiles=("sdm630",), accelerate=3600.0)
    async with ModbusDriver(sim.bus_config(), sim.device_configs()) as driver:
        first = await _poll(driver, 0)
        await asyncio.sleep(0.5)  # half an hour of simulated time
        second = await _poll(driver, 1)
    assert second[1][Register.IMPORT_TOTAL] > first[1][Register.IMPORT_TOTAL]


async def test_cli_serves_until_interrupted() -> None:
    process = await asyncio.create_subprocess_exec(
        sys.executable,
        "-c",
        "from gateway.cli import main; main()",
        *("simulate", "modbus", "--port", "0", "--meters", "3", "--profile", "mt32"),
        *("--plan", "three_zone", "--seed", "5", "--dead", "3"),
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.PIPE,
    )
    try:
        assert process.stdout is not None
        async with asyncio.timeout(20):
            banner = (await process.stdout.readline()).decode()
            units = [(await process.stdout.readline()).decode() for _ in range(3)]
        port = int(re.search(r"127\.0\.0\.1:(\d+)", banner).group(1))  # type: ignore[union-attr]
        assert all("mt32" in u and "three_zone" in u for u in units)
        client = AsyncModbusTcpClient("127.0.0.1", port=port, timeout=1, retries=0)
        await client.connect()
        answer = await client.read_holding_registers(0x0100, count=2, device_id=1)
        client.close()
        assert not answer.isError()
    finally:
        process.send_signal(signal.SIGINT)
        out, _ = await process.communicate()
    assert process.returncode == 0
    assert out.decode().strip().endswith("stopped")
