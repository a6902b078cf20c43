"""The Modbus driver: meter profiles as data, a request planner, one owner per bus.

Public face of ``drivers.modbus``; the code lives in the named modules.
"""

from drivers.modbus.bus import ModbusBus
from drivers.modbus.config import BusConfig, DeviceConfig, Transport
from drivers.modbus.datatypes import DataType, Endian, decode_words, encode_value
from drivers.modbus.decode import Decoded, decode_energy
from drivers.modbus.driver import ModbusDriver
from drivers.modbus.errors import DeviceException, DeviceTimeout
from drivers.modbus.health import DeviceState, DeviceStats
from drivers.modbus.planner import MAX_READ_REGISTERS, ReadRequest, plan_reads
from drivers.modbus.profile import EnergyRegister, FunctionCode, Profile, SerialRegister
from drivers.modbus.profiles import PROFILES, get_profile
from drivers.modbus.schedule import boundary_trigger, nearest_slot, next_boundary, slot_floor

__all__ = [
    "MAX_READ_REGISTERS",
    "PROFILES",
    "BusConfig",
    "DataType",
    "Decoded",
    "DeviceConfig",
    "DeviceException",
    "DeviceState",
    "DeviceStats",
    "DeviceTimeout",
    "Endian",
    "EnergyRegister",
    "FunctionCode",
    "ModbusBus",
    "ModbusDriver",
    "Profile",
    "ReadRequest",
    "SerialRegister",
    "Transport",
    "boundary_trigger",
    "decode_energy",
    "decode_words",
    "encode_value",
    "get_profile",
    "nearest_slot",
    "next_boundary",
    "plan_reads",
    "slot_floor",
]
