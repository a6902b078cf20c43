"""Payloads in the three formats the driver reads, and broken ones on purpose.

Values are written from integer Wh with string formatting, never floats, so
the driver must decode exactly what the meter counted.
"""

from __future__ import annotations

import json
import random
from datetime import UTC, datetime

from drivers.domain import KYIV, Register
from drivers.mqtt import PayloadFormat


def kwh_text(wh: int, places: int = 3) -> str:
    """Integer Wh as a kWh JSON number with ``places`` (>= 3) decimals."""
    return f"{wh // 1000}.{wh % 1000:03d}" + "0" * (places - 3)


def metergate(
    serial: str, read_at: datetime, registers: dict[int, int], seq: int, rng: random.Random
) -> bytes:
    """metergate JSON; timestamp style and units vary (seeded) to exercise the decoder."""
    style = rng.randrange(3)
    if style == 0:
        ts = json.dumps(read_at.astimezone(KYIV).isoformat())
    elif style == 1:
        ts = json.dumps(read_at.astimezone(UTC).isoformat().replace("+00:00", "Z"))
    else:
        ts = str(int(read_at.timestamp()))
    entries = []
    for register, wh in sorted(registers.items()):
        if rng.random() < 0.5:
            entries.append(f'{{"register":{register},"value":{kwh_text(wh)},"unit":"kWh"}}')
        else:
            code = json.dumps(Register(register).obis)
            entries.append(f'{{"register":{code},"value":{wh},"unit":"Wh"}}')
    return (
        f'{{"meter":{json.dumps(serial)},"ts":{ts},"seq":{seq},"registers":[{",".join(entries)}]}}'
    ).encode()


def obis(
    serial: str, read_at: datetime, registers: dict[int, int], seq: int, rng: random.Random
) -> bytes:
    """OBIS-keyed JSON in kWh; the serial travels in the topic."""
    del serial, seq, rng
    parts = [f'"{Register(r).obis}":{kwh_text(wh)}' for r, wh in sorted(registers.items())]
    parts.append(f'"ts":{json.dumps(read_at.isoformat())}')
    return ("{" + ",".join(parts) + "}").encode()


_TASMOTA_FIELDS = {
    0: "Total_in",
    1: "Total_in_T1",
    2: "Total_in_T2",
    3: "Total_in_T3",
    4: "Total_in_T4",
    10: "Total_out",
}


def tasmota(
    serial: str, read_at: datetime, registers: dict[int, int], seq: int, rng: random.Random
) -> bytes:
    """Tasmota SML telemetry: local Kyiv time without offset, kWh with 4 decimals."""
    del serial, seq
    local = read_at.astimezone(KYIV).replace(tzinfo=None).isoformat(timespec="seconds")
    fields = [f'"{_TASMOTA_FIELDS[r]}":{kwh_text(wh, 4)}' for r, wh in sorted(registers.items())]
    fields.append(f'"Power_curr":{rng.randrange(50, 4000)}')
    return (f'{{"Time":"{local}","SML":{{{",".join(fields)}}}}}').encode()


ENCODERS = {
    PayloadFormat.METERGATE: metergate,
    PayloadFormat.OBIS: obis,
    PayloadFormat.TASMOTA: tasmota,
}


def malformed(fmt: PayloadFormat, good: bytes, rng: random.Random) -> bytes:
    """A payload the driver must dead-letter, derived from a good one."""
    kind = rng.randrange(5)
    if kind == 0:
        return good[: len(good) // 2]
    if kind == 1:
        return b"\xff\xfe" + good[2:]
    if kind == 2:
        if fmt is PayloadFormat.TASMOTA:
            return b'{"Time":"2025-01-01T00:00:00","SML":{"Total_in":NaN}}'
        return b"[]"
    if kind == 3:
        return b"{}"
    return {
        PayloadFormat.METERGATE: b'{"meter":"X","ts":"2025-01-01T00:00:00","registers":[]}',
        PayloadFormat.OBIS: b'{"1.8.0":-1.000,"ts":"2025-01-01T00:00:00Z"}',
        PayloadFormat.TASMOTA: b'{"Time":"yesterday","SML":{"Total_in":1.0}}',
    }[fmt]
