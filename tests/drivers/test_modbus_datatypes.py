"""Register words <-> numbers in every byte and word order."""

from __future__ import annotations

import math
import struct
from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st

from drivers.modbus import DataType, Endian, decode_words, encode_value

B, L = Endian.BIG, Endian.LITTLE


@pytest.mark.parametrize(
    ("byte_order", "word_order", "words"),
    [
        (B, B, (0x1122, 0x3344)),  # ABCD
        (B, L, (0x3344, 0x1122)),  # CDAB: low word first
        (L, B, (0x2211, 0x4433)),  # BADC: bytes swapped in each word
        (L, L, (0x4433, 0x2211)),  # DCBA
    ],
)
def test_uint32_orders_match_the_vendor_names(
    byte_order: Endian, word_order: Endian, words: tuple[int, int]
) -> None:
    kwargs: dict[str, Any] = {
        "data_type": DataType.UINT32,
        "byte_order": byte_order,
        "word_order": word_order,
    }
    assert encode_value(0x11223344, **kwargs) == words
    assert decode_words(words, **kwargs) == 0x11223344


def test_float32_big_endian_is_ieee754_on_the_wire() -> None:
    words = encode_value(1.0, data_type=DataType.FLOAT32, byte_order=B, word_order=B)
    assert words == (0x3F80, 0x0000)
    assert decode_words((0x3F80, 0), data_type=DataType.FLOAT32, byte_order=B, word_order=B) == 1.0


def test_uint64_spans_four_registers_low_word_first() -> None:
    words = encode_value(0x0102030405060708, data_type=DataType.UINT64, byte_order=B, word_order=L)
    assert words == (0x0708, 0x0506, 0x0304, 0x0102)


def test_wrong_word_count_is_refused() -> None:
    with pytest.raises(ValueError, match="needs 2 registers"):
        decode_words((1,), data_type=DataType.UINT32, byte_order=B, word_order=B)
    with pytest.raises(ValueError, match=r"0\.\.65535"):
        decode_words((1, 70000), data_type=DataType.UINT32, byte_order=B, word_order=B)


_VALUES = {
    DataType.UINT16: st.integers(0, 2**16 - 1),
    DataType.INT32: st.integers(-(2**31), 2**31 - 1),
    DataType.UINT32: st.integers(0, 2**32 - 1),
    DataType.UINT64: st.integers(0, 2**64 - 1),
    DataType.FLOAT32: st.floats(width=32, allow_nan=False),
}


@st.composite
def _typed_values(draw: st.DrawFn) -> tuple[DataType, int | float]:
    data_type = draw(st.sampled_from(list(DataType)))
    return data_type, draw(_VALUES[data_type])


@given(_typed_values(), st.sampled_from(list(Endian)), st.sampled_from(list(Endian)))
def test_round_trip_in_every_order(
    typed: tuple[DataType, int | float], byte_order: Endian, word_order: Endian
) -> None:
    data_type, value = typed
    kwargs: dict[str, Any] = {
        "data_type": data_type,
        "byte_order": byte_order,
        "word_order": word_order,
    }
    words = encode_value(value, **kwargs)
    assert len(words) == data_type.width
    assert decode_words(words, **kwargs) == value


def test_nan_survives_the_round_trip() -> None:
    kwargs: dict[str, Any] = {"data_type": DataType.FLOAT32, "byte_order": B, "word_order": L}
    words = encode_value(math.nan, **kwargs)
    assert math.isnan(decode_words(words, **kwargs))
    assert struct.pack(">HH", *reversed(words)) == struct.pack(">f", math.nan)
