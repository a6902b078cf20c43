"""The one owner of a physical bus: one pymodbus client, one lock, a silent gap between frames.

Every request on a bus goes through ``ModbusBus.read``, which serializes them with
an ``asyncio.Lock`` and keeps ``gap_s`` of silence after each exchange, so many unit
ids share one TCP connection or serial port safely. pymodbus errors are
translated here into ``drivers.errors``. The timeout is ours (``asyncio.timeout``)
and pymodbus's own retries are off, so a silent device costs exactly one timeout.
"""

from __future__ import annotations

import asyncio
import time
from types import TracebackType
from typing import Self

from pymodbus.client import AsyncModbusSerialClient, AsyncModbusTcpClient
from pymodbus.exceptions import ConnectionException, ModbusException
from pymodbus.framer import FramerType

from drivers.errors import ConfigurationError, ConnectionLost, DeviceError
from drivers.modbus.config import BusConfig
from drivers.modbus.errors import DeviceException, DeviceTimeout
from drivers.modbus.profile import FunctionCode

_OWNERS: dict[str, str] = {}
"""endpoint -> bus name of the live owner in this process (one owner per physical bus)."""

_Client = AsyncModbusTcpClient | AsyncModbusSerialClient


def _make_client(config: BusConfig) -> _Client:
    """A pymodbus client for ``config`` with its own retries and reconnects turned off."""
    backstop = config.timeout_s + 1.0  # ours fires first; this only bounds a stuck pymodbus
    if config.transport == "rtu":
        return AsyncModbusSerialClient(
            config.serial_port or "",
            framer=FramerType.RTU,
            baudrate=config.baudrate,
            bytesize=config.bytesize,
            parity=config.parity,
            stopbits=config.stopbits,
            timeout=backstop,
            retries=0,
            reconnect_delay=0,
            name=config.name,
        )
    framer = FramerType.SOCKET if config.transport == "tcp" else FramerType.RTU
    return AsyncModbusTcpClient(
        config.host or "",
        port=config.port,
        framer=framer,
        timeout=backstop,
        retries=0,
        reconnect_delay=0,
        name=config.name,
    )


class ModbusBus:
    """Owns one bus for the life of an ``async with``; a second owner of the same endpoint fails."""

    def __init__(self, config: BusConfig) -> None:
        self.config = config
        self._client: _Client | None = None
        self._lock = asyncio.Lock()
        self._quiet_until = 0.0

    async def __aenter__(self) -> Self:
        owner = _OWNERS.get(self.config.endpoint)
        if owner is not None:
            raise ConfigurationError(
                f"bus {self.config.name}: {self.config.endpoint} is already owned by bus {owner}"
            )
        self._client = _make_client(self.config)
        _OWNERS[self.config.endpoint] = self.config.name
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        if self._client is not None:
            self._client.close()
            self._client = None
        _OWNERS.pop(self.config.endpoint, None)

    @property
    def connected(self) -> bool:
        return self._client is not None and self._client.connected

    async def read(
        self, *, unit: int, function: FunctionCode, address: int, count: int
    ) -> list[int]:
        """``count`` registers of ``unit``; raises DeviceTimeout, DeviceError or ConnectionLost."""
        async with self._lock:
            client = await self._connected_client()
            await self._keep_gap()
            try:
                return await self._exchange(client, unit, function, address, count)
            finally:
                self._quiet_until = time.monotonic() + self.config.gap_s

    async def _connected_client(self) -> _Client:
        if self._client is None:
            raise ConnectionLost(f"bus {self.config.name} is not open")
        if self._client.connected:
            return self._client
        try:
            async with asyncio.timeout(self.config.timeout_s):
                ok = await self._client.connect()
        except (TimeoutError, OSError, ModbusException) as exc:
            raise ConnectionLost(f"bus {self.config.name}: cannot connect: {exc}") from exc
        if not ok:
            raise ConnectionLost(
                f"bus {self.config.name}: cannot connect to {self.config.endpoint}"
            )
        return self._client

    async def _keep_gap(self) -> None:
        wait = self._quiet_until - time.monotonic()
        if wait > 0:
            await asyncio.sleep(wait)

    async def _exchange(
        self, client: _Client, unit: int, function: FunctionCode, address: int, count: int
    ) -> list[int]:
        call = (
            client.read_input_registers
            if function is FunctionCode.READ_INPUT
            else client.read_holding_registers
        )
        where = f"bus {self.config.name} unit {unit} fc{function:02d} {address:#06x}+{count}"
        try:
            async with asyncio.timeout(self.config.timeout_s):
                response = await call(address, count=count, device_id=unit)
        except TimeoutError as exc:
            if not client.connected:
                raise ConnectionLost(f"{where}: connection dropped") from exc
            raise DeviceTimeout(f"{where}: no answer in {self.config.timeout_s} s") from exc
        except ConnectionException as exc:
            raise ConnectionLost(f"{where}: {exc}") from exc
        except ModbusException as exc:
            raise DeviceError(f"{where}: {exc}") from exc
        if response.isError():
            code = int(getattr(response, "exception_code", 0))
            raise DeviceException(f"{where}: Modbus exception code {code}", code=code)
        registers = list(response.registers)
        if len(registers) != count:
            raise DeviceError(f"{where}: answered {len(registers)} registers")
        return registers
