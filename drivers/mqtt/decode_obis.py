"""OBIS-keyed JSON: ``{"1.8.0": 1234.567, "1.8.1": …, "2.8.0": …, "ts": …}`` in kWh.

Energy registers (``A.8.T``, also ``1-0:`` prefixed or ``*255`` suffixed) become
readings; other OBIS quantities (``1.7.0`` power, ``0.0.0`` meter id …) are
ignored; any other key is refused. ``ts`` is optional: without it the
message's receive time is used (docs/mqtt.md says why that is a weaker time).
"""

from __future__ import annotations

import re
from datetime import UTC, datetime

from drivers.domain import Reading, Register
from drivers.mqtt.config import TopicRoute
from drivers.mqtt.decoder import Decode
from drivers.mqtt.decoding import (
    load_json_object,
    parse_timestamp,
    serial_text,
    topic_level,
    wh_from_kwh,
)
from drivers.mqtt.errors import PayloadError

_OBIS_KEY = re.compile(r"(?:\d{1,3}-\d{1,3}:)?(\d{1,3})\.(\d{1,3})\.(\d{1,3})(?:\*\d{1,3})?")


def obis_decoder(route: TopicRoute) -> Decode:
    """The decoder of one route: the serial comes from a payload key or a topic level."""
    source = route.serial_source()
    assert source is not None  # TopicRoute refuses an OBIS route without one
    kind, where = source
    field = where if kind == "field" else None
    level = where if kind == "topic" else None

    def decode(topic: str, payload: bytes) -> tuple[Reading, ...]:
        doc = load_json_object(payload)
        if isinstance(field, str):
            if field not in doc:
                raise PayloadError(f"missing {field!r}")
            meter = serial_text(doc.pop(field), field)
        else:
            assert isinstance(level, int)
            meter = topic_level(topic, level)
        raw_ts = doc.pop("ts", None)
        read_at = datetime.now(UTC) if raw_ts is None else parse_timestamp(raw_ts)
        return _readings(doc, meter, read_at, topic)

    return decode


def _readings(
    doc: dict[str, object], meter: str, read_at: datetime, topic: str
) -> tuple[Reading, ...]:
    readings: dict[int, Reading] = {}
    for key, value in doc.items():
        match = _OBIS_KEY.fullmatch(key)
        if match is None:
            raise PayloadError(f"key {key!r} is not an OBIS code")
        if match.group(2) != "8":
            continue
        try:
            register = int(Register.from_obis(key))
        except ValueError as exc:
            raise PayloadError(str(exc)) from None
        if register in readings:
            raise PayloadError(f"register {key!r} appears twice")
        readings[register] = Reading(
            meter=meter,
            register=register,
            read_at=read_at,
            value_wh=wh_from_kwh(value, key),
            origin=topic,
        )
    if not readings:
        raise PayloadError("no energy register (A.8.T) in the payload")
    return tuple(readings.values())
