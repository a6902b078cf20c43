"""metergate JSON (docs/schemas/metergate-reading.schema.json).

``{"meter": "…", "ts": "2025-03-01T00:00:00+02:00" | 1740780000, "seq": 42,
"registers": [{"register": 0 | "1.8.0", "value": 1234.567, "unit": "kWh"}, …]}``
"""

from __future__ import annotations

from typing import Any

from drivers.domain import Reading, Register
from drivers.mqtt.config import TopicRoute
from drivers.mqtt.decoder import Decode
from drivers.mqtt.decoding import (
    load_json_object,
    parse_timestamp,
    serial_text,
    wh_from_kwh,
    wh_from_wh,
)
from drivers.mqtt.errors import PayloadError

_TOP_KEYS = frozenset({"meter", "ts", "seq", "registers"})
_REGISTER_KEYS = frozenset({"register", "value", "unit"})
_UNITS = {"Wh": wh_from_wh, "kWh": wh_from_kwh}
_REGISTERS = {int(r): r for r in Register}


def metergate_decoder(route: TopicRoute) -> Decode:
    """The decoder of one route (the format has no per-route options)."""
    del route
    return decode_metergate


def decode_metergate(topic: str, payload: bytes) -> tuple[Reading, ...]:
    doc = load_json_object(payload)
    if doc.keys() - _TOP_KEYS:
        raise PayloadError(f"unknown keys {sorted(doc.keys() - _TOP_KEYS)}")
    try:
        meter = serial_text(doc["meter"], "meter")
        read_at = parse_timestamp(doc["ts"])
        registers = doc["registers"]
    except KeyError as exc:
        raise PayloadError(f"missing {exc.args[0]!r}") from None
    origin = topic
    if "seq" in doc:
        seq = doc["seq"]
        if type(seq) is not int or seq < 0:
            raise PayloadError(f"seq must be a non-negative integer, got {seq!r}")
        origin = f"{topic} seq={seq}"
    if type(registers) is not list or not registers:
        raise PayloadError("registers must be a non-empty array")
    readings = tuple(_reading(entry, meter, read_at, origin) for entry in registers)
    if len({r.register for r in readings}) != len(readings):
        raise PayloadError("a register appears twice")
    return readings


def _reading(entry: Any, meter: str, read_at: Any, origin: str) -> Reading:
    if type(entry) is not dict or entry.keys() != _REGISTER_KEYS:
        raise PayloadError(f"a register entry needs exactly register, value, unit: {entry!r}")
    convert = _UNITS.get(entry["unit"])
    if convert is None:
        raise PayloadError(f"unit must be Wh or kWh, got {entry['unit']!r}")
    return Reading(
        meter=meter,
        register=_register(entry["register"]),
        read_at=read_at,
        value_wh=convert(entry["value"], "value"),
        origin=origin,
    )


def _register(code: object) -> int:
    if type(code) is int and code in _REGISTERS:
        return code
    if type(code) is str:
        try:
            return int(Register.from_obis(code))
        except ValueError as exc:
            raise PayloadError(str(exc)) from None
    raise PayloadError(f"register must be a register number or OBIS code, got {code!r}")
