"""Payload decoding and configuration checks of the MQTT driver (no broker needed)."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta, timezone
from pathlib import Path

import pytest
from hypothesis import given
from hypothesis import strategies as st

from drivers.domain import Quality
from drivers.mqtt import (
    MqttConfig,
    MqttConfigError,
    PayloadError,
    Router,
    TopicRoute,
)
from simulators.mqtt import kwh_text

ROUTER = Router(
    (
        TopicRoute(topic_filter="m/+/reading", payload_format="metergate"),
        TopicRoute(topic_filter="m/+/obis", payload_format="obis", serial_topic_level=1),
        TopicRoute(topic_filter="o/obis", payload_format="obis", serial_field="id"),
        TopicRoute(topic_filter="tele/+/SENSOR", payload_format="tasmota", timezone="Europe/Kyiv"),
        TopicRoute(
            topic_filter="x/tele/+/SENSOR",
            payload_format="tasmota",
            timezone="Europe/Kyiv",
            serial_field="Meter_id",
            sensor="Haus",
            fields=(("Verbrauch", 0), ("Einspeisung", 10)),
        ),
    )
)
KYIV_WINTER = timezone(timedelta(hours=2))


def values(readings: tuple[object, ...]) -> dict[int, int]:
    return {r.register: r.value_wh for r in readings}  # type: ignore[attr-defined]


def test_metergate_exact_wh_and_offsets() -> None:
    payload = {
        "meter": "LZQJ-00123",
        "ts": "2025-03-01T00:00:00+02:00",
        "seq": 7,
        "registers": [
            {"register": 0, "value": 1234.567, "unit": "kWh"},
            {"register": "1.8.1", "value": 1000000, "unit": "Wh"},
            {"register": 2, "value": 234.567, "unit": "kWh"},
        ],
    }
    readings = ROUTER.decode("m/any/reading", json.dumps(payload).encode())
    assert values(readings) == {0: 1234567, 1: 1000000, 2: 234567}
    assert {r.meter for r in readings} == {"LZQJ-00123"}
    assert readings[0].read_at == datetime(2025, 2, 28, 22, 0, tzinfo=UTC)
    assert readings[0].read_at.utcoffset() == timedelta(hours=2)
    assert readings[0].origin == "m/any/reading seq=7"


@pytest.mark.parametrize(
    ("ts", "expected"),
    [
        ("2025-07-01T12:00:00Z", datetime(2025, 7, 1, 12, tzinfo=UTC)),
        ("2025-07-01T15:00:00+03:00", datetime(2025, 7, 1, 12, tzinfo=UTC)),
        ("2025-07-01T06:30:00-05:30", datetime(2025, 7, 1, 12, tzinfo=UTC)),
        (1751371200, datetime(2025, 7, 1, 12, tzinfo=UTC)),
        (1751371200.25, datetime(2025, 7, 1, 12, 0, 0, 250000, tzinfo=UTC)),
    ],
)
def test_metergate_timestamps(ts: object, expected: datetime) -> None:
    payload = {"meter": "M", "ts": ts, "registers": [{"register": 0, "value": 1, "unit": "Wh"}]}
    (reading,) = ROUTER.decode("m/M/reading", json.dumps(payload).encode())
    assert reading.read_at == expected


@pytest.mark.parametrize(
    "payload",
    [
        b"{not json",
        b"\xff\xfe{}",
        b"[]",
        b'{"meter":"M","ts":"2025-01-01T00:00:00","registers":[{"register":0,"value":1,"unit":"Wh"}]}',
        b'{"meter":"M","ts":1,"registers":[{"register":0,"value":1.5,"unit":"Wh"}]}',
        b'{"meter":"M","ts":1,"registers":[{"register":0,"value":-1,"unit":"Wh"}]}',
        b'{"meter":"M","ts":1,"registers":[{"register":0,"value":NaN,"unit":"kWh"}]}',
        b'{"meter":"M","ts":1,"registers":[{"register":0,"value":"1","unit":"kWh"}]}',
        b'{"meter":"M","ts":1,"registers":[{"register":0,"value":true,"unit":"kWh"}]}',
        b'{"meter":"M","ts":1,"registers":[{"register":0,"value":1,"unit":"MWh"}]}',
        b'{"meter":"M","ts":1,"registers":[{"register":7,"value":1,"unit":"Wh"}]}',
        b'{"meter":"M","ts":1,"registers":[{"register":"1.8.9","value":1,"unit":"Wh"}]}',
        b'{"meter":"M","ts":1,"registers":[]}',
        b'{"meter":"","ts":1,"registers":[{"register":0,"value":1,"unit":"Wh"}]}',
        b'{"ts":1,"registers":[{"register":0,"value":1,"unit":"Wh"}]}',
        b'{"meter":"M","ts":1,"seq":-1,"registers":[{"register":0,"value":1,"unit":"Wh"}]}',
        b'{"meter":"M","ts":1,"extra":1,"registers":[{"register":0,"value":1,"unit":"Wh"}]}',
        b'{"meter":"M","ts":1,"registers":[{"register":0,"value":1e30,"unit":"kWh"}]}',
        b'{"meter":"M","ts":1,"registers":[{"register":0,"value":1,"unit":"Wh"},'
        b'{"register":"1.8.0","value":2,"unit":"Wh"}]}',
    ],
)
def test_metergate_rejects(payload: bytes) -> None:
    with pytest.raises(PayloadError):
        ROUTER.decode("m/M/reading", payload)


def test_obis_from_topic_with_prefixes_and_ignored_quantities() -> None:
    payload = b'{"1.8.0": 1234.567, "1-0:1.8.1*255": 1000.5, "2.8.0": 0.001, "1.7.0": 2.5, "ts": 1}'
    readings = ROUTER.decode("m/NIK-77/obis", payload)
    assert values(readings) == {0: 1234567, 1: 1000500, 10: 1}
    assert {r.meter for r in readings} == {"NIK-77"}
    assert readings[0].read_at == datetime(1970, 1, 1, 0, 0, 1, tzinfo=UTC)


def test_obis_serial_field_nik_codes_and_missing_ts() -> None:
    before = datetime.now(UTC)
    readings = ROUTER.decode("o/obis", b'{"id": 5551234, "15.8.0": 12, "15.8.2": 0.5}')
    assert values(readings) == {0: 12000, 2: 500}
    assert readings[0].meter == "5551234"
    assert before <= readings[0].read_at <= datetime.now(UTC)


@pytest.mark.parametrize(
    "payload",
    [b'{"1.7.0": 1}', b'{"foo": 1}', b'{"1.8.5": 1}', b'{"1.8.0": 1, "15.8.0": 1}', b"{}"],
)
def test_obis_rejects(payload: bytes) -> None:
    with pytest.raises(PayloadError):
        ROUTER.decode("m/M/obis", payload)


def test_tasmota_local_time_in_configured_zone() -> None:
    payload = (
        b'{"Time":"2025-01-15T10:00:00",'
        b'"SML":{"Total_in":1234.5678,"Total_out":0.0012,"Power_curr":312}}'
    )
    readings = ROUTER.decode("tele/dev-1/SENSOR", payload)
    assert values(readings) == {0: 1234567, 10: 1}
    assert readings[0].meter == "dev-1"
    assert readings[0].read_at == datetime(2025, 1, 15, 10, tzinfo=KYIV_WINTER)
    assert readings[0].quality is Quality.VALID


def test_tasmota_offset_wins_and_dst_ambiguity_is_flagged() -> None:
    with_offset = b'{"Time":"2025-07-01T10:00:00+01:00","SML":{"Total_in":1}}'
    (reading,) = ROUTER.decode("tele/d/SENSOR", with_offset)
    assert reading.read_at == datetime(2025, 7, 1, 9, tzinfo=UTC)
    # 2024-10-27 03:30 happens twice in Kyiv (clocks go back from 04:00 to 03:00)
    ambiguous = b'{"Time":"2024-10-27T03:30:00","SML":{"Total_in":1}}'
    (reading,) = ROUTER.decode("tele/d/SENSOR", ambiguous)
    assert reading.quality is Quality.QUESTIONABLE


def test_tasmota_custom_sensor_fields_and_serial() -> None:
    payload = (
        b'{"Time":"2025-01-15T10:00:00",'
        b'"Haus":{"Verbrauch":5,"Einspeisung":1.25,"Meter_id":"0a01"}}'
    )
    readings = ROUTER.decode("x/tele/dev/SENSOR", payload)
    assert values(readings) == {0: 5000, 10: 1250}
    assert readings[0].meter == "0a01"


@pytest.mark.parametrize(
    "payload",
    [
        b'{"SML":{"Total_in":1}}',
        b'{"Time":"yesterday","SML":{"Total_in":1}}',
        b'{"Time":"2025-01-15T10:00:00","ENERGY":{"Total":3.7}}',
        b'{"Time":"2025-01-15T10:00:00","SML":{"Total_in":NaN}}',
    ],
)
def test_tasmota_rejects(payload: bytes) -> None:
    with pytest.raises(PayloadError):
        ROUTER.decode("tele/d/SENSOR", payload)


def test_unrouted_topic_is_a_payload_error() -> None:
    with pytest.raises(PayloadError, match="no route"):
        ROUTER.decode("elsewhere/x", b"{}")


@given(wh=st.integers(min_value=0, max_value=10**15), extra=st.integers(0, 9))
def test_kwh_text_round_trips_exactly(wh: int, extra: int) -> None:
    payload = f'{{"1.8.0": {kwh_text(wh)}{extra}, "ts": 0}}'
    (reading,) = ROUTER.decode("m/S/obis", payload.encode())
    assert reading.value_wh == wh  # sub-Wh digits are cut, never rounded up


def test_schema_examples_decode() -> None:
    schema_path = Path(__file__).parents[2] / "docs" / "schemas" / "metergate-reading.schema.json"
    schema = json.loads(schema_path.read_text())
    assert schema["required"] == ["meter", "ts", "registers"]
    assert set(schema["properties"]) == {"meter", "ts", "seq", "registers"}
    for example in schema["examples"]:
        assert ROUTER.decode("m/x/reading", json.dumps(example).encode())


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"protocol": "3.1.1", "share_group": "g"}, "MQTT v5"),
        ({"share_group": "a/b"}, "share group"),
        ({"client_id": ""}, "client_id"),
        ({"routes": ()}, "route"),
        ({"password": "x"}, "username"),
        ({"session_expiry": 0}, "session_expiry"),
        ({"receive_maximum": 70000}, "receive_maximum"),
        ({"protocol": "4"}, "protocol"),
    ],
)
def test_config_rejects(kwargs: dict[str, object], message: str) -> None:
    settings: dict[str, object] = {
        "host": "h",
        "client_id": "c",
        "routes": (TopicRoute(topic_filter="a/#", payload_format="metergate"),),
    }
    with pytest.raises(MqttConfigError, match=message):
        MqttConfig(**(settings | kwargs))  # type: ignore[arg-type]


@pytest.mark.parametrize(
    "kwargs",
    [
        {"topic_filter": "a/#/b", "payload_format": "metergate"},
        {"topic_filter": "a/b+", "payload_format": "metergate"},
        {"topic_filter": "$share/g/a", "payload_format": "metergate"},
        {"topic_filter": "a/+", "payload_format": "xml"},
        {"topic_filter": "a/+", "payload_format": "obis"},
        {"topic_filter": "a/+", "payload_format": "obis", "serial_topic_level": 2},
        {"topic_filter": "a/+", "payload_format": "metergate", "serial_topic_level": 1},
        {"topic_filter": "tele/+/SENSOR", "payload_format": "tasmota"},
        {"topic_filter": "tele/+/SENSOR", "payload_format": "tasmota", "timezone": "Mars/Base"},
        {"topic_filter": "a/+", "payload_format": "obis", "serial_field": "id", "timezone": "UTC"},
    ],
)
def test_route_rejects(kwargs: dict[str, object]) -> None:
    with pytest.raises(MqttConfigError):
        TopicRoute(**kwargs)  # type: ignore[arg-type]


def test_config_from_url() -> None:
    route = TopicRoute(topic_filter="a/#", payload_format="metergate")
    cfg = MqttConfig.from_url(
        "mqtts://gw%40dso:p%2Fw@broker.example:8884", client_id="c", routes=(route,)
    )
    assert (cfg.host, cfg.port, cfg.username, cfg.password) == (
        "broker.example",
        8884,
        "gw@dso",
        "p/w",
    )
    assert cfg.tls is not None
    plain = MqttConfig.from_url("mqtt://localhost", client_id="c", routes=(route,))
    assert (plain.port, plain.tls) == (1883, None)
    with pytest.raises(MqttConfigError):
        MqttConfig.from_url("http://localhost", client_id="c", routes=(route,))
