"""The register map the Eastron SDM family shares (SDM630, SDM120, SDM72D).

Function 04 input registers, IEEE-754 float32 in kWh, big-endian bytes and words;
the serial number in holding register 0xFC00 as uint32 (DOMAIN.md, Eastron
protocol sheets). 0x0156 "total kWh" is import + export: it has no store
register, so the profiles do not read it.
"""

from __future__ import annotations

from drivers.domain import Register
from drivers.modbus.datatypes import DataType
from drivers.modbus.profile import EnergyRegister, FunctionCode, SerialRegister

MAX_KWH = 10**7
"""(unverified) The display shows at most 7 integer kWh digits; anything larger is garbage."""

ENERGY: tuple[EnergyRegister, ...] = (
    EnergyRegister(
        register=Register.IMPORT_TOTAL,
        address=0x0048,
        function=FunctionCode.READ_INPUT,
        data_type=DataType.FLOAT32,
        scale=1000,
        max_kwh=MAX_KWH,
    ),
    EnergyRegister(
        register=Register.EXPORT_TOTAL,
        address=0x004A,
        function=FunctionCode.READ_INPUT,
        data_type=DataType.FLOAT32,
        scale=1000,
        max_kwh=MAX_KWH,
    ),
)

SERIAL = SerialRegister(address=0xFC00, function=FunctionCode.READ_HOLDING)
