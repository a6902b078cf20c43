"""One simulated meter: energy per tariff zone accumulated from its load curve, encoded
into its profile's registers with the profile's own type, scale and byte/word order.

Energy is kept in integer millijoules per zone (W x ms), so it is exact and, as the
simulated clock only moves forward, monotonic. A register shows the Wh total
floored to the profile's resolution, as a real counter does.
"""

from __future__ import annotations

import math
import struct
from dataclasses import dataclass
from datetime import timedelta
from fractions import Fraction
from functools import lru_cache

from drivers.domain import Plan, Register, TariffCalendar
from drivers.modbus import EnergyRegister, Profile, encode_value
from drivers.modbus.profile import FunctionCode
from simulators.modbus.clock import EPOCH
from simulators.modbus.load import LoadCurve

MJ_PER_WH = 3_600_000
_CALENDAR = TariffCalendar()


@lru_cache(maxsize=16384)
def zone_register(plan: Plan, minute: int) -> int:
    """The import register (0 for single, T1..T3 otherwise) of epoch minute ``minute``."""
    return _CALENDAR.zone_at(plan, EPOCH + timedelta(minutes=minute)).register


@dataclass(kw_only=True)
class Faults:
    """What is wrong with a meter right now; tests and the CLI flip these at run time."""

    dead: bool = False
    """Never answers (as if unpowered or on the wrong address)."""
    delay_s: float = 0.0
    """Answers this late. Keep it below the client's timeout: pymodbus's server would
    stamp a late answer with the newest request's ids."""
    nan: bool = False
    """float32 registers read NaN; integer ones read the profile's 'no value' sentinel."""
    busy: int = 0
    """Answer the next ``busy`` requests with exception 6 (device busy)."""


class SimulatedMeter:
    """Energy state and register image of one meter (unit id) of a simulated bus."""

    def __init__(
        self,
        *,
        unit_id: int,
        profile: Profile,
        serial: int,
        plan: Plan,
        load: LoadCurve,
        initial_wh: dict[int, int],
        start_ms: int,
    ) -> None:
        self.unit_id = unit_id
        self.profile = profile
        self.serial = serial
        self.plan = plan
        self.load = load
        self.faults = Faults()
        self._initial = dict(initial_wh)
        """Wh per zone key: import zone registers (0 single, else T1..), export = key + 10."""
        self._mj = dict.fromkeys(self._initial, 0)
        self._t_ms = start_ms

    def advance_to(self, t_ms: int) -> None:
        """Accumulate energy up to simulated instant ``t_ms``, minute by minute (never back)."""
        while self._t_ms < t_ms:
            minute = self._t_ms // 60_000
            end = min((minute + 1) * 60_000, t_ms)
            import_w, export_w = self.load.power(minute)
            zone = zone_register(self.plan, minute)
            dt = end - self._t_ms
            self._mj[zone] = self._mj.get(zone, 0) + import_w * dt
            self._mj[zone + 10] = self._mj.get(zone + 10, 0) + export_w * dt
            self._t_ms = end

    def truth_wh(self, register: int) -> int:
        """The meter's internal energy total for a store register, in whole Wh."""
        if register in (Register.IMPORT_TOTAL, Register.EXPORT_TOTAL):
            keys = [k for k in self._mj if (k >= 10) == (register >= 10)]
            initial = sum(self._initial.get(k, 0) for k in keys)
            return initial + sum(self._mj[k] for k in keys) // MJ_PER_WH
        return self._initial.get(register, 0) + self._mj.get(register, 0) // MJ_PER_WH

    def raw_value(self, spec: EnergyRegister) -> int | float:
        """The number the register holds: kWh as float32, or the floored integer count."""
        if self.faults.nan:
            if spec.data_type.is_float:
                return math.nan
            if spec.sentinels:
                return spec.sentinels[0]
        wh = self.truth_wh(spec.register) % (spec.max_kwh * 1000)  # rolls over like the display
        if spec.data_type.is_float:
            return float(Fraction(wh) / spec.scale)
        return math.floor(Fraction(wh) / spec.scale)

    def shown_wh(self, register: int) -> int | None:
        """What a correct driver must deliver for ``register`` (the register at its
        resolution); None while the register holds "no value" (the ``nan`` fault)."""
        spec = next(r for r in self.profile.registers if r.register == register)
        raw = self.raw_value(spec)
        if (isinstance(raw, float) and math.isnan(raw)) or raw in spec.sentinels:
            return None
        if spec.data_type.is_float:
            as_float32 = struct.unpack(">f", struct.pack(">f", raw))[0]
            return round(Fraction(as_float32) * spec.scale)
        return int(raw * spec.scale)

    def image(self, function: int) -> dict[int, int]:
        """Register address -> 16-bit word for every profile value under ``function``."""
        words: dict[int, int] = {}
        for spec in self.profile.registers:
            if spec.function == function:
                encoded = encode_value(
                    self.raw_value(spec),
                    data_type=spec.data_type,
                    byte_order=spec.byte_order,
                    word_order=spec.word_order,
                )
                words.update(
                    zip(range(spec.address, spec.address + spec.width), encoded, strict=True)
                )
        serial = self.profile.serial
        if serial is not None and serial.function == function:
            encoded = encode_value(
                self.serial,
                data_type=serial.data_type,
                byte_order=serial.byte_order,
                word_order=serial.word_order,
            )
            words.update(
                zip(range(serial.address, serial.address + serial.width), encoded, strict=True)
            )
        return words

    def spans(self, function: FunctionCode) -> tuple[int, int] | None:
        """[first, end) of the addresses this meter serves under ``function``; None if none."""
        spans = [
            (s.address, s.address + s.width)
            for s in self.profile.registers
            if s.function == function
        ]
        serial = self.profile.serial
        if serial is not None and serial.function == function:
            spans.append((serial.address, serial.address + serial.width))
        if not spans:
            return None
        return min(a for a, _ in spans), max(b for _, b in spans)
