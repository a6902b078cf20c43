"""Meter profiles as data: which registers hold which energy totals, and how to read them."""

from __future__ import annotations

import enum
import itertools
import math
from dataclasses import dataclass
from fractions import Fraction

from drivers.domain import Register
from drivers.errors import ConfigurationError
from drivers.modbus.datatypes import DataType, Endian

INT64_MAX = 2**63 - 1
"""The store keeps Wh in a bigint; nothing larger can become a reading."""


class FunctionCode(enum.IntEnum):
    """The two Modbus read functions meters use for registers."""

    READ_HOLDING = 3
    READ_INPUT = 4


def _check_span(what: str, address: int, data_type: DataType) -> None:
    if not 0 <= address <= 0x10000 - data_type.width:
        raise ConfigurationError(f"{what}: address {address:#06x} out of range for {data_type}")


@dataclass(frozen=True, slots=True, kw_only=True)
class EnergyRegister:
    """One energy total of a meter model: where it is, how it is encoded, which store register.

    ``scale`` turns the raw number into Wh (float32 kWh: 1000, uint32 in 0.01 kWh: 10,
    uint32 Wh: 1). ``sentinels`` are raw values the vendor uses for "no value".
    ``max_kwh`` is the register's capacity: a value at or above it (or below 0) is
    out of range and never passes as valid.
    """

    register: Register
    address: int
    function: FunctionCode
    data_type: DataType
    scale: int | Fraction
    byte_order: Endian = Endian.BIG
    word_order: Endian = Endian.BIG
    sentinels: tuple[int | float, ...] = ()
    max_kwh: int = 10**9

    def __post_init__(self) -> None:
        object.__setattr__(self, "register", Register(self.register))
        object.__setattr__(self, "function", FunctionCode(self.function))
        _check_span(self.label, self.address, self.data_type)
        if not isinstance(self.scale, int | Fraction) or self.scale <= 0:
            raise ConfigurationError(f"{self.label}: scale must be a positive int or Fraction")
        if self.max_kwh <= 0 or self.max_kwh * 1000 > INT64_MAX:
            raise ConfigurationError(f"{self.label}: max_kwh must be 1..{INT64_MAX // 1000}")
        for s in self.sentinels:
            if isinstance(s, float) and not math.isfinite(s):
                raise ConfigurationError(f"{self.label}: NaN/inf are always 'no value'")
            if isinstance(s, float) and not self.data_type.is_float:
                raise ConfigurationError(f"{self.label}: float sentinel on {self.data_type}")

    @property
    def width(self) -> int:
        return self.data_type.width

    @property
    def label(self) -> str:
        """Human name for logs and dead letters, e.g. ``1.8.2@0x0104``."""
        return f"{Register(self.register).obis}@{self.address:#06x}"


@dataclass(frozen=True, slots=True, kw_only=True)
class SerialRegister:
    """Where a model keeps its serial number (an unsigned integer); read once per device."""

    address: int
    function: FunctionCode
    data_type: DataType = DataType.UINT32
    byte_order: Endian = Endian.BIG
    word_order: Endian = Endian.BIG

    def __post_init__(self) -> None:
        object.__setattr__(self, "function", FunctionCode(self.function))
        _check_span("serial", self.address, self.data_type)
        if self.data_type not in (DataType.UINT16, DataType.UINT32, DataType.UINT64):
            raise ConfigurationError("serial register must be an unsigned integer type")

    @property
    def width(self) -> int:
        return self.data_type.width

    @property
    def label(self) -> str:
        return f"serial@{self.address:#06x}"


@dataclass(frozen=True, slots=True, kw_only=True)
class Profile:
    """A meter model: its energy registers and serial register. Adding a model adds one of these.

    ``max_gap`` caps gap bridging for models that reject reads of unmapped registers
    (``0``); ``None`` leaves it to the bus setting.
    """

    name: str
    title: str
    registers: tuple[EnergyRegister, ...]
    serial: SerialRegister | None = None
    max_gap: int | None = None
    notes: str = ""

    def __post_init__(self) -> None:
        if not self.name or self.name != self.name.lower() or " " in self.name:
            raise ConfigurationError(
                f"profile name must be lower-case without spaces: {self.name!r}"
            )
        if not self.registers:
            raise ConfigurationError(f"{self.name}: a profile needs at least one register")
        stored = [r.register for r in self.registers]
        if len(set(stored)) != len(stored):
            raise ConfigurationError(f"{self.name}: a store register appears twice")
        if self.max_gap is not None and self.max_gap < 0:
            raise ConfigurationError(f"{self.name}: max_gap must be >= 0")
        spans: list[EnergyRegister | SerialRegister] = [*self.registers]
        if self.serial is not None:
            spans.append(self.serial)
        spans.sort(key=lambda s: (s.function, s.address))
        for a, b in itertools.pairwise(spans):
            if a.function == b.function and b.address < a.address + a.width:
                raise ConfigurationError(f"{self.name}: {a.label} overlaps {b.label}")
