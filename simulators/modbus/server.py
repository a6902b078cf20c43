"""``ModbusSimulator``: one simulated bus (a pymodbus server) with many meters on it.

``async with ModbusSimulator(SimulatorConfig(meters=10)) as sim:`` serves Modbus TCP
(or RTU framing over TCP, or RTU on a serial port) until the block ends; ``sim``
tells the host, port and meters, and builds matching driver configs.
"""

from __future__ import annotations

import asyncio
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from types import TracebackType
from typing import Any, Literal

from pymodbus.framer import FramerType
from pymodbus.server import ModbusSerialServer, ModbusTcpServer

from drivers.domain import Plan
from drivers.modbus import BusConfig, DeviceConfig, get_profile
from simulators.modbus.clock import EPOCH, SimClock
from simulators.modbus.device import meter_device, silent_device
from simulators.modbus.fleet import build_fleet
from simulators.modbus.meter import SimulatedMeter

Framing = Literal["tcp", "rtu-over-tcp", "rtu"]


@dataclass(frozen=True, slots=True, kw_only=True)
class SimulatorConfig:
    """One simulated bus. ``port`` 0 picks a free TCP port; ``profiles``/``plans`` are
    cycled over the units (``plans`` None: a seeded mix). ``dead``/``slow``/``nan``
    name unit ids with that fault from the start; ``accelerate`` 0 freezes the clock.
    """

    meters: int = 10
    profiles: tuple[str, ...] = ("sdm630",)
    plans: tuple[Plan, ...] | None = None
    first_unit: int = 1
    seed: int = 0
    accelerate: float = 1.0
    start: datetime | None = None
    framing: Framing = "tcp"
    host: str = "127.0.0.1"
    port: int = 0
    serial_port: str | None = None
    baudrate: int = 9600
    dead: frozenset[int] = field(default_factory=frozenset)
    slow: frozenset[int] = field(default_factory=frozenset)
    slow_s: float = 0.5
    nan: frozenset[int] = field(default_factory=frozenset)
    pv_share: float = 0.2

    def __post_init__(self) -> None:
        if not 1 <= self.meters <= 247:
            raise ValueError("meters must be 1..247 (unit ids of one bus)")
        if not self.profiles:
            raise ValueError("at least one profile")
        for name in self.profiles:
            get_profile(name)
        if self.framing == "rtu" and not self.serial_port:
            raise ValueError("rtu framing needs serial_port")
        if self.start is not None and self.start.tzinfo is None:
            raise ValueError("start must be timezone-aware")


@dataclass(frozen=True, slots=True, kw_only=True)
class RunningSimulator:
    """A started simulator: where it listens and what it simulates."""

    host: str
    port: int
    framing: Framing
    serial_port: str | None
    clock: SimClock
    meters: tuple[SimulatedMeter, ...]

    def meter(self, unit_id: int) -> SimulatedMeter:
        return next(m for m in self.meters if m.unit_id == unit_id)

    def bus_config(self, name: str = "sim", **overrides: Any) -> BusConfig:
        """A ``BusConfig`` pointing the driver at this simulator (``overrides`` win)."""
        where: dict[str, Any] = (
            {"transport": "rtu", "serial_port": self.serial_port}
            if self.framing == "rtu"
            else {"transport": self.framing, "host": self.host, "port": self.port}
        )
        return BusConfig(name=name, **{**where, **overrides})

    def device_configs(self, *, with_serial: bool = False) -> tuple[DeviceConfig, ...]:
        """A ``DeviceConfig`` per meter; ``with_serial`` passes the serial (no serial read)."""
        return tuple(
            DeviceConfig(
                unit_id=m.unit_id,
                profile=m.profile.name,
                serial=str(m.serial) if with_serial else None,
            )
            for m in self.meters
        )


class ModbusSimulator:
    """Async context manager serving one simulated bus; returns a ``RunningSimulator``."""

    def __init__(self, config: SimulatorConfig) -> None:
        self.config = config
        self._server: ModbusTcpServer | ModbusSerialServer | None = None

    async def __aenter__(self) -> RunningSimulator:
        cfg = self.config
        clock = SimClock(start=cfg.start or datetime.now(UTC), accelerate=cfg.accelerate)
        meters = build_fleet(
            profiles=[get_profile(name) for name in cfg.profiles],
            count=cfg.meters,
            first_unit=cfg.first_unit,
            seed=cfg.seed,
            start_ms=(clock.now() - EPOCH) // timedelta(milliseconds=1),
            plans=cfg.plans,
            pv_share=cfg.pv_share,
        )
        for m in meters:
            m.faults.dead = m.unit_id in cfg.dead
            m.faults.delay_s = cfg.slow_s if m.unit_id in cfg.slow else 0.0
            m.faults.nan = m.unit_id in cfg.nan
        devices = [silent_device(), *(meter_device(m, clock) for m in meters)]
        self._server = self._make_server(devices)
        await self._server.serve_forever(background=True)
        port = cfg.port
        if cfg.framing != "rtu":
            listener: asyncio.Server = self._server.transport  # type: ignore[assignment]
            port = listener.sockets[0].getsockname()[1]
        return RunningSimulator(
            host=cfg.host,
            port=port,
            framing=cfg.framing,
            serial_port=cfg.serial_port,
            clock=clock,
            meters=meters,
        )

    def _make_server(self, devices: Sequence[Any]) -> ModbusTcpServer | ModbusSerialServer:
        cfg = self.config
        if cfg.framing == "rtu":
            return ModbusSerialServer(
                list(devices),
                framer=FramerType.RTU,
                port=cfg.serial_port or "",
                baudrate=cfg.baudrate,
                ignore_missing_devices=True,
            )
        return ModbusTcpServer(
            list(devices),
            framer=FramerType.SOCKET if cfg.framing == "tcp" else FramerType.RTU,
            address=(cfg.host, cfg.port),
            ignore_missing_devices=True,
        )

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        if self._server is not None:
            await self._server.shutdown()  # type: ignore[no-untyped-call]
            self._server = None
