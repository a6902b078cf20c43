"""MQTT meter fleet simulator: seeded load curves, three payload formats, fault injection."""

from simulators.mqtt.fleet import Fleet, FleetConfig, FleetReport, PublishedReading
from simulators.mqtt.load import SimMeter
from simulators.mqtt.payloads import ENCODERS, kwh_text, malformed
from simulators.mqtt.publisher import Publisher

__all__ = [
    "ENCODERS",
    "Fleet",
    "FleetConfig",
    "FleetReport",
    "PublishedReading",
    "Publisher",
    "SimMeter",
    "kwh_text",
    "malformed",
]
