"""MQTT driver: persistent QoS 1 sessions, manual acks, payload formats per topic.

``async with MqttDriver(MqttConfig(...)) as driver: async for delivery in driver``
yields one ``drivers.base.Delivery`` per message; see docs/mqtt.md.
"""

from drivers.mqtt.config import MqttConfig, MqttProtocol, TlsConfig, TopicRoute
from drivers.mqtt.decode_tasmota import DEFAULT_FIELDS as TASMOTA_DEFAULT_FIELDS
from drivers.mqtt.driver import MqttDriver
from drivers.mqtt.errors import (
    MqttConfigError,
    MqttConnectError,
    PayloadError,
    SubscriptionRefused,
)
from drivers.mqtt.formats import PayloadFormat
from drivers.mqtt.registry import DECODERS
from drivers.mqtt.router import Router

__all__ = [
    "DECODERS",
    "TASMOTA_DEFAULT_FIELDS",
    "MqttConfig",
    "MqttConfigError",
    "MqttConnectError",
    "MqttDriver",
    "MqttProtocol",
    "PayloadError",
    "PayloadFormat",
    "Router",
    "SubscriptionRefused",
    "TlsConfig",
    "TopicRoute",
]
