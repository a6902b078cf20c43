"""Profiles are data, registered in one dict, and refuse impossible register maps."""

from __future__ import annotations

from typing import Any

import pytest

from drivers.domain import Register
from drivers.errors import ConfigurationError
from drivers.modbus import (
    PROFILES,
    BusConfig,
    DataType,
    DeviceConfig,
    Endian,
    EnergyRegister,
    FunctionCode,
    Profile,
    get_profile,
)


def test_registry_keys_are_the_profile_names() -> None:
    assert set(PROFILES) >= {"sdm630", "sdm120", "sdm72d", "mt32"}
    for name, profile in PROFILES.items():
        assert profile.name == name


@pytest.mark.parametrize("name", ["sdm630", "sdm120", "sdm72d"])
def test_eastron_map(name: str) -> None:
    profile = PROFILES[name]
    by_register = {r.register: r for r in profile.registers}
    assert by_register[Register.IMPORT_TOTAL].address == 0x0048
    assert by_register[Register.EXPORT_TOTAL].address == 0x004A
    for r in profile.registers:
        assert (r.function, r.data_type, r.scale) == (
            FunctionCode.READ_INPUT,
            DataType.FLOAT32,
            1000,
        )
        assert (r.byte_order, r.word_order) == (Endian.BIG, Endian.BIG)
    assert profile.serial is not None
    assert (profile.serial.address, profile.serial.function) == (0xFC00, FunctionCode.READ_HOLDING)
    assert profile.serial.data_type is DataType.UINT32


def test_multi_tariff_profile_declares_t1_to_t4_with_low_word_first() -> None:
    profile = PROFILES["mt32"]
    stored = {r.register for r in profile.registers}
    assert {
        Register.IMPORT_T1,
        Register.IMPORT_T2,
        Register.IMPORT_T3,
        Register.IMPORT_T4,
    } <= stored
    for r in profile.registers:
        assert (r.data_type, r.scale, r.word_order) == (DataType.UINT32, 10, Endian.LITTLE)


def test_unknown_profile_lists_the_known_ones() -> None:
    with pytest.raises(ConfigurationError, match="known: mt32, sdm120"):
        get_profile("abb-b23")


def _reg(register: Register, address: int = 0, **overrides: Any) -> EnergyRegister:
    fields: dict[str, Any] = {
        "register": register,
        "address": address,
        "function": FunctionCode.READ_INPUT,
        "data_type": DataType.FLOAT32,
        "scale": 1000,
    }
    return EnergyRegister(**{**fields, **overrides})


def test_overlapping_registers_are_refused() -> None:
    with pytest.raises(ConfigurationError, match="overlaps"):
        Profile(
            name="bad",
            title="bad",
            registers=(_reg(Register.IMPORT_TOTAL, 10), _reg(Register.EXPORT_TOTAL, 11)),
        )


def test_same_address_under_another_function_is_fine() -> None:
    Profile(
        name="ok",
        title="ok",
        registers=(
            _reg(Register.IMPORT_TOTAL, 10),
            _reg(Register.EXPORT_TOTAL, 10, function=FunctionCode.READ_HOLDING),
        ),
    )


def test_a_store_register_twice_is_refused() -> None:
    with pytest.raises(ConfigurationError, match="twice"):
        Profile(
            name="bad",
            title="bad",
            registers=(_reg(Register.IMPORT_TOTAL, 10), _reg(Register.IMPORT_TOTAL, 20)),
        )


@pytest.mark.parametrize(
    ("overrides", "message"),
    [
        ({"scale": 0}, "scale"),
        ({"scale": 0.1}, "scale"),
        ({"address": 0xFFFF}, "out of range"),
        ({"sentinels": (float("nan"),)}, "always"),
        ({"data_type": DataType.UINT32, "sentinels": (1.5,)}, "float sentinel"),
        ({"max_kwh": 0}, "max_kwh"),
    ],
)
def test_bad_register_descriptions_are_refused(overrides: dict[str, Any], message: str) -> None:
    fields = {"address": 0, **overrides}
    with pytest.raises(ConfigurationError, match=message):
        _reg(Register.IMPORT_TOTAL, **fields)


@pytest.mark.parametrize(
    ("fields", "message"),
    [
        ({"name": "bad name"}, "bus name"),
        ({"transport": "udp"}, "transport"),
        ({"transport": "rtu"}, "serial_port"),
        ({"host": None}, "host"),
        ({"poll_interval_s": 7 * 60}, "divide a day"),
        ({"offset_s": 900}, "offset_s"),
        ({"timeout_s": 0}, "timeout_s"),
        ({"backoff_max_s": 60}, "backoff_max_s"),
    ],
)
def test_bad_bus_config_is_refused(fields: dict[str, Any], message: str) -> None:
    with pytest.raises(ConfigurationError, match=message):
        BusConfig(**{"name": "b1", "host": "10.0.0.5", **fields})


def test_bus_defaults() -> None:
    tcp = BusConfig(name="b1", host="10.0.0.5")
    assert (tcp.poll_interval_s, tcp.gap_s, tcp.budget_s) == (900, 0.0, 810)
    rtu = BusConfig(name="b2", transport="rtu", serial_port="/dev/ttyUSB0")
    assert rtu.gap_s > 0
    assert rtu.endpoint == "serial:/dev/ttyUSB0"
    assert (
        BusConfig(name="b3", transport="rtu-over-tcp", host="h", port=4001).endpoint == "tcp:h:4001"
    )


@pytest.mark.parametrize("unit_id", [0, 248])
def test_unit_id_range(unit_id: int) -> None:
    with pytest.raises(ConfigurationError, match="unit_id"):
        DeviceConfig(unit_id=unit_id, profile="sdm630")
