"""The payload formats the driver understands, as one literal-keyed enum."""

from __future__ import annotations

import enum


class PayloadFormat(enum.StrEnum):
    """How a topic's payloads are written (see docs/mqtt.md)."""

    METERGATE = "metergate"
    """metergate JSON: serial, timestamp, registers with units (docs/schemas)."""
    OBIS = "obis"
    """OBIS-keyed JSON: ``{"1.8.0": 1234.567, ..., "ts": ...}`` in kWh."""
    TASMOTA = "tasmota"
    """Tasmota Smart Meter Interface telemetry: ``tele/<device>/SENSOR``."""
