"""Register data types and byte/word orders: raw 16-bit words <-> numbers.

A Modbus register is a 16-bit word sent high byte first. Wider values span
several registers; vendors disagree on the order of the words (``word_order``)
and sometimes on the order of the bytes inside each word (``byte_order``), so
every profile register declares both. Everything here is pure and exact.
"""

from __future__ import annotations

import enum
import struct
from collections.abc import Sequence


class DataType(enum.StrEnum):
    """How the bits of one register value are read."""

    UINT16 = "uint16"
    INT32 = "int32"
    UINT32 = "uint32"
    FLOAT32 = "float32"
    UINT64 = "uint64"

    @property
    def width(self) -> int:
        """Number of 16-bit registers the value spans."""
        return _FORMATS[self][1]

    @property
    def is_float(self) -> bool:
        return self is DataType.FLOAT32


class Endian(enum.StrEnum):
    """An order: ``big`` = most significant part first (Modbus's own convention)."""

    BIG = "big"
    LITTLE = "little"


_FORMATS: dict[DataType, tuple[str, int]] = {
    DataType.UINT16: (">H", 1),
    DataType.INT32: (">i", 2),
    DataType.UINT32: (">I", 2),
    DataType.FLOAT32: (">f", 2),
    DataType.UINT64: (">Q", 4),
}


def words_to_bytes(words: Sequence[int]) -> bytes:
    """The words as they travelled on the wire (each high byte first)."""
    return b"".join(w.to_bytes(2, "big") for w in words)


def _canonical(words: Sequence[int], byte_order: Endian, word_order: Endian) -> bytes:
    """Reorder wire words into one big-endian byte string (the order is its own inverse)."""
    ordered = list(words) if word_order is Endian.BIG else list(reversed(words))
    raw = words_to_bytes(ordered)
    if byte_order is Endian.LITTLE:
        raw = b"".join(raw[i + 1 : i + 2] + raw[i : i + 1] for i in range(0, len(raw), 2))
    return raw


def decode_words(
    words: Sequence[int], *, data_type: DataType, byte_order: Endian, word_order: Endian
) -> int | float:
    """The number held in ``words`` (exactly ``data_type.width`` registers)."""
    fmt, width = _FORMATS[data_type]
    if len(words) != width:
        raise ValueError(f"{data_type} needs {width} registers, got {len(words)}")
    if any(not 0 <= w <= 0xFFFF for w in words):
        raise ValueError(f"register words must be 0..65535, got {list(words)}")
    value: int | float = struct.unpack(fmt, _canonical(words, byte_order, word_order))[0]
    return value


def encode_value(
    value: int | float, *, data_type: DataType, byte_order: Endian, word_order: Endian
) -> tuple[int, ...]:
    """The wire words that ``decode_words`` turns back into ``value`` (simulators use it)."""
    fmt, width = _FORMATS[data_type]
    try:
        packed = struct.pack(fmt, value)
    except struct.error as exc:
        raise ValueError(f"{value!r} does not fit {data_type}") from exc
    canonical = _canonical(
        [int.from_bytes(packed[i : i + 2], "big") for i in range(0, 2 * width, 2)],
        byte_order,
        Endian.BIG,
    )
    words = [int.from_bytes(canonical[i : i + 2], "big") for i in range(0, 2 * width, 2)]
    return tuple(words if word_order is Endian.BIG else reversed(words))
