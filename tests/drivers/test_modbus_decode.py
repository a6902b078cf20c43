"""Raw words -> exact Wh; no-value and out-of-range never turn into 0."""

from __future__ import annotations

import math
import struct
from fractions import Fraction

import pytest
from hypothesis import given
from hypothesis import strategies as st

from drivers.domain import Quality, Register
from drivers.modbus import (
    DataType,
    Endian,
    EnergyRegister,
    FunctionCode,
    decode_energy,
    encode_value,
)
from drivers.modbus.profiles import PROFILES

SDM_IMPORT = PROFILES["sdm630"].registers[0]
MT32_T2 = next(r for r in PROFILES["mt32"].registers if r.register == Register.IMPORT_T2)


def _float_words(kwh: float) -> tuple[int, ...]:
    return encode_value(
        kwh, data_type=DataType.FLOAT32, byte_order=Endian.BIG, word_order=Endian.BIG
    )


@given(st.integers(0, 16_384_000 - 1))
def test_float32_kwh_is_exact_to_the_wh_below_16384_kwh(wh: int) -> None:
    decoded = decode_energy(SDM_IMPORT, _float_words(wh / 1000))
    assert decoded == type(decoded)(value_wh=wh)


@given(st.integers(16_384_000, 9_999_999_000))
def test_float32_error_above_that_is_at_most_half_a_step(wh: int) -> None:
    step_wh = 1000 * 2.0 ** (math.floor(math.log2(wh / 1000)) - 23)
    decoded = decode_energy(SDM_IMPORT, _float_words(wh / 1000))
    assert decoded.value_wh is not None
    assert abs(decoded.value_wh - wh) <= step_wh / 2 + 0.5


def test_float32_is_rounded_not_truncated() -> None:
    words = _float_words(1234.563)  # float32 holds 1234.56298828125
    assert struct.unpack(">f", struct.pack(">HH", *words))[0] < 1234.563
    assert decode_energy(SDM_IMPORT, words).value_wh == 1_234_563


def test_uint32_hundredths_low_word_first_scale_to_exact_wh() -> None:
    raw = 123_456_789  # 1 234 567.89 kWh
    words = (raw & 0xFFFF, raw >> 16)
    assert decode_energy(MT32_T2, words).value_wh == 1_234_567_890


@pytest.mark.parametrize("kwh", [math.nan, math.inf, -math.inf])
def test_non_finite_float_has_no_value(kwh: float) -> None:
    decoded = decode_energy(SDM_IMPORT, _float_words(kwh))
    assert decoded.value_wh is None
    assert "not a number" in decoded.problem


def test_sentinel_has_no_value() -> None:
    decoded = decode_energy(MT32_T2, (0xFFFF, 0xFFFF))
    assert decoded.value_wh is None
    assert "sentinel" in decoded.problem


def _int32_wh(**overrides: object) -> EnergyRegister:
    fields: dict[str, object] = {
        "register": Register.IMPORT_TOTAL,
        "address": 0,
        "function": FunctionCode.READ_HOLDING,
        "data_type": DataType.INT32,
        "scale": 1,
        "max_kwh": 1000,
    }
    return EnergyRegister(**{**fields, **overrides})  # type: ignore[arg-type]


def test_negative_counter_is_flagged_not_zeroed() -> None:
    words = encode_value(-5, data_type=DataType.INT32, byte_order=Endian.BIG, word_order=Endian.BIG)
    decoded = decode_energy(_int32_wh(), words)
    assert decoded == type(decoded)(
        value_wh=-5, quality=Quality.QUESTIONABLE, problem=decoded.problem
    )
    assert "out of range" in decoded.problem


def test_value_at_capacity_is_flagged() -> None:
    words = encode_value(
        1_000_000, data_type=DataType.INT32, byte_order=Endian.BIG, word_order=Endian.BIG
    )
    decoded = decode_energy(_int32_wh(), words)
    assert (decoded.value_wh, decoded.quality) == (1_000_000, Quality.QUESTIONABLE)
    below = encode_value(
        999_999, data_type=DataType.INT32, byte_order=Endian.BIG, word_order=Endian.BIG
    )
    assert decode_energy(_int32_wh(), below).quality is Quality.VALID


def test_unstorable_magnitude_has_no_value() -> None:
    decoded = decode_energy(SDM_IMPORT, _float_words(3.0e38))
    assert decoded.value_wh is None
    assert "out of range" in decoded.problem


def test_fractional_scale_rounds_to_the_nearest_wh() -> None:
    tenth_wh = _int32_wh(scale=Fraction(1, 10), max_kwh=10**6)
    words = encode_value(
        12_346, data_type=DataType.INT32, byte_order=Endian.BIG, word_order=Endian.BIG
    )
    assert decode_energy(tenth_wh, words).value_wh == 1235  # 1234.6 Wh
