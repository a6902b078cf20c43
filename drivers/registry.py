"""The driver kinds, in one explicit dict: adding a kind adds an entry here.

Kept out of ``drivers/__init__`` so that importing the shared value objects
(``drivers.domain``) does not import pymodbus and paho.
"""

from __future__ import annotations

from typing import Literal

from drivers.modbus import ModbusDriver
from drivers.mqtt import MqttDriver

DriverKind = Literal["modbus", "mqtt"]

DRIVERS: dict[DriverKind, type[ModbusDriver] | type[MqttDriver]] = {
    "modbus": ModbusDriver,
    "mqtt": MqttDriver,
}
"""Kind -> driver class. Each class implements ``drivers.base.Driver``."""
