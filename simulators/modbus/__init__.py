"""Simulated Modbus meters speaking real Modbus from the driver's own profiles.

Public face of ``simulators.modbus``; the code lives in the named modules.
"""

from simulators.modbus.clock import SimClock
from simulators.modbus.fleet import build_fleet
from simulators.modbus.load import LoadCurve
from simulators.modbus.meter import Faults, SimulatedMeter
from simulators.modbus.serial_pair import SerialPair
from simulators.modbus.server import Framing, ModbusSimulator, RunningSimulator, SimulatorConfig

__all__ = [
    "Faults",
    "Framing",
    "LoadCurve",
    "ModbusSimulator",
    "RunningSimulator",
    "SerialPair",
    "SimClock",
    "SimulatedMeter",
    "SimulatorConfig",
    "build_fleet",
]
