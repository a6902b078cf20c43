"""Eastron SDM72D-M: import and export totals as float32 kWh (the shared Eastron map)."""

from __future__ import annotations

from drivers.modbus.profile import Profile
from drivers.modbus.profiles import _eastron

PROFILE = Profile(
    name="sdm72d",
    title="Eastron SDM72D-M (three-phase, DIN rail)",
    registers=_eastron.ENERGY,
    serial=_eastron.SERIAL,
    notes="(unverified) totals assumed at the SDM630 addresses, as DOMAIN.md says.",
)
