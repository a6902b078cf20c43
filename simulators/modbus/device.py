"""pymodbus ``SimDevice``s whose registers are computed on each read from the simulated clock.

pymodbus 3.16 serves register blocks and calls an ``action`` coroutine before
answering; the action advances the meter to the simulated now and writes the
encoded words of the requested range into the block, so every answer is fresh.
"""

from __future__ import annotations

import asyncio
from functools import partial

from pymodbus.constants import ExcCodes
from pymodbus.exceptions import NoSuchIdException
from pymodbus.simulator import DataType, SimData, SimDevice

from drivers.modbus.profile import FunctionCode
from simulators.modbus.clock import SimClock
from simulators.modbus.meter import SimulatedMeter


def _block(meter: SimulatedMeter, function: FunctionCode) -> list[SimData]:
    """One read-only block spanning every address the meter serves under ``function``.

    Reserved addresses inside the span read 0, so planned reads may bridge gaps.
    """
    span = meter.spans(function)
    first, end = span if span is not None else (0, 1)
    return [SimData(first, count=end - first, datatype=DataType.REGISTERS, readonly=True)]


async def _serve(
    meter: SimulatedMeter,
    clock: SimClock,
    function_code: int,
    start_address: int,
    address: int,
    count: int,
    registers: list[int],
    set_values: list[int] | list[bool] | None,
) -> ExcCodes | None:
    """pymodbus action: apply the meter's faults, then fill the requested registers."""
    faults = meter.faults
    if faults.dead:
        raise NoSuchIdException(f"unit {meter.unit_id} is dead")  # server stays silent
    if faults.delay_s:
        await asyncio.sleep(faults.delay_s)
    if faults.busy > 0:
        faults.busy -= 1
        return ExcCodes.DEVICE_BUSY
    if set_values is not None:
        return ExcCodes.ILLEGAL_FUNCTION
    meter.advance_to(clock.now_ms())
    image = meter.image(function_code)
    for offset in range(count):
        registers[address - start_address + offset] = image.get(address + offset, 0)
    return None


async def _nobody(*_args: object) -> ExcCodes | None:
    """Unit ids nobody simulates stay silent, as on a real RS-485 bus."""
    raise NoSuchIdException("no such unit")


def meter_device(meter: SimulatedMeter, clock: SimClock) -> SimDevice:
    """The pymodbus device serving ``meter`` (holding and input registers kept apart)."""
    bits = [SimData(0, datatype=DataType.BITS)]
    return SimDevice(
        meter.unit_id,
        simdata=(
            bits,
            list(bits),
            _block(meter, FunctionCode.READ_HOLDING),
            _block(meter, FunctionCode.READ_INPUT),
        ),
        action=partial(_serve, meter, clock),
    )


def silent_device() -> SimDevice:
    """The catch-all device 0: every unknown unit id times out instead of erroring."""
    bits = [SimData(0, datatype=DataType.BITS)]
    regs = [SimData(0, count=0x10000, datatype=DataType.REGISTERS)]  # any address: no error
    return SimDevice(0, simdata=(bits, list(bits), regs, list(regs)), action=_nobody)
