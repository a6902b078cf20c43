"""Generic multi-tariff meter with 32-bit counters: an INVENTED map, not a real model.

It stands for the common layout of multi-tariff meters on Modbus (DOMAIN.md):
import and export totals plus T1..T4 per direction as uint32 counters in
0.01 kWh, low word first (word order ``little``, bytes big-endian inside each
word), in holding registers (function 03). A real vendor's map is added the
same way, as its own file. The all-ones counter value is taken as "no value".
"""

from __future__ import annotations

from drivers.domain import Register
from drivers.modbus.datatypes import DataType, Endian
from drivers.modbus.profile import EnergyRegister, FunctionCode, Profile, SerialRegister

NO_VALUE = 0xFFFFFFFF


def _counter(register: Register, address: int) -> EnergyRegister:
    """A uint32 counter in 0.01 kWh (x10 to Wh), low word first."""
    return EnergyRegister(
        register=register,
        address=address,
        function=FunctionCode.READ_HOLDING,
        data_type=DataType.UINT32,
        scale=10,
        word_order=Endian.LITTLE,
        sentinels=(NO_VALUE,),
        max_kwh=10**7,
    )


PROFILE = Profile(
    name="mt32",
    title="Generic multi-tariff meter, 32-bit counters (invented map)",
    registers=(
        _counter(Register.IMPORT_TOTAL, 0x0100),
        _counter(Register.IMPORT_T1, 0x0102),
        _counter(Register.IMPORT_T2, 0x0104),
        _counter(Register.IMPORT_T3, 0x0106),
        _counter(Register.IMPORT_T4, 0x0108),
        # 0x010A..0x010F reserved: the planner bridges this gap in one read.
        _counter(Register.EXPORT_TOTAL, 0x0110),
        _counter(Register.EXPORT_T1, 0x0112),
        _counter(Register.EXPORT_T2, 0x0114),
        _counter(Register.EXPORT_T3, 0x0116),
        _counter(Register.EXPORT_T4, 0x0118),
    ),
    serial=SerialRegister(
        address=0x0010,
        function=FunctionCode.READ_HOLDING,
        data_type=DataType.UINT32,
        word_order=Endian.LITTLE,
    ),
    notes="Invented layout for tests and the simulator; scale and word order are declared.",
)
