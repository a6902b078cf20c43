"""Tasmota Smart Meter Interface telemetry on ``tele/<device>/SENSOR``.

``{"Time": "2025-03-01T00:15:00", "SML": {"Total_in": 1234.5678,
"Total_out": 0.0, "Power_curr": 312, "Meter_id": "0a01…"}}``: the sensor
object is named after the meter in the device's SML script; the field names are
script choices too, so they are configurable (defaults below). ``Time`` is the
device's local time without an offset unless ``SetOption52 1`` appends one; a
wall time that DST makes ambiguous yields ``Quality.QUESTIONABLE`` readings.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any
from zoneinfo import ZoneInfo

from drivers.domain import Quality, Reading, Register
from drivers.mqtt.config import TopicRoute
from drivers.mqtt.decoder import Decode
from drivers.mqtt.decoding import (
    load_json_object,
    parse_local_time,
    serial_text,
    topic_level,
    wh_from_kwh,
)
from drivers.mqtt.errors import PayloadError

DEFAULT_FIELDS: tuple[tuple[str, int], ...] = (
    ("Total_in", Register.IMPORT_TOTAL),
    ("Total_in_T1", Register.IMPORT_T1),
    ("Total_in_T2", Register.IMPORT_T2),
    ("Total_in_T3", Register.IMPORT_T3),
    ("Total_in_T4", Register.IMPORT_T4),
    ("Total_out", Register.EXPORT_TOTAL),
    ("Total_out_T1", Register.EXPORT_T1),
    ("Total_out_T2", Register.EXPORT_T2),
    ("Total_out_T3", Register.EXPORT_T3),
    ("Total_out_T4", Register.EXPORT_T4),
)
"""kWh fields: ``Total_in``/``Total_out`` as in the common SML scripts, ``_T1``..``_T4``
for per-tariff registers (this project's convention)."""


def tasmota_decoder(route: TopicRoute) -> Decode:
    """The decoder of one route: zone, sensor name, field map and serial source."""
    assert route.timezone is not None  # TopicRoute requires it for Tasmota
    zone = ZoneInfo(route.timezone)
    fields = tuple((key, int(register)) for key, register in route.fields or DEFAULT_FIELDS)
    source = route.serial_source()
    assert source is not None
    kind, where = source
    sensor_name = route.sensor

    def decode(topic: str, payload: bytes) -> tuple[Reading, ...]:
        doc = load_json_object(payload)
        if "Time" not in doc:
            raise PayloadError("missing 'Time'")
        read_at, ambiguous = parse_local_time(doc["Time"], zone)
        sensor = _sensor(doc, sensor_name, fields)
        if kind == "topic":
            assert isinstance(where, int)
            meter = topic_level(topic, where)
        else:
            assert isinstance(where, str)
            raw = sensor.get(where, doc.get(where))
            if raw is None:
                raise PayloadError(f"missing serial field {where!r}")
            meter = serial_text(raw, where)
        quality = Quality.QUESTIONABLE if ambiguous else Quality.VALID
        return _readings(sensor, fields, meter, read_at, quality, topic)

    return decode


def _sensor(doc: dict[str, Any], name: str | None, fields: tuple[tuple[str, int], ...]) -> Any:
    if name is not None:
        sensor = doc.get(name)
        if type(sensor) is not dict:
            raise PayloadError(f"no sensor object {name!r}")
        return sensor
    for value in doc.values():
        if type(value) is dict and any(key in value for key, _ in fields):
            return value
    raise PayloadError("no sensor object with an energy field (Total_in, Total_out, …)")


def _readings(
    sensor: dict[str, Any],
    fields: tuple[tuple[str, int], ...],
    meter: str,
    read_at: datetime,
    quality: Quality,
    topic: str,
) -> tuple[Reading, ...]:
    readings = tuple(
        Reading(
            meter=meter,
            register=register,
            read_at=read_at,
            value_wh=wh_from_kwh(sensor[key], key),
            quality=quality,
            origin=topic,
        )
        for key, register in fields
        if key in sensor
    )
    if not readings:
        raise PayloadError("the sensor object has no energy field")
    return readings
