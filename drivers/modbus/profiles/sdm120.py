"""Eastron SDM120 (single-phase): import/export totals as float32 kWh (shared Eastron map)."""

from __future__ import annotations

from drivers.modbus.profile import Profile
from drivers.modbus.profiles import _eastron

PROFILE = Profile(
    name="sdm120",
    title="Eastron SDM120 (single-phase)",
    registers=_eastron.ENERGY,
    serial=_eastron.SERIAL,
    notes="float32 kWh: exact to 1 Wh below 16 384 kWh, see docs/modbus.md.",
)
