"""Errors of the MQTT driver, all under ``drivers.errors.DriverError``.

paho reports failures as return codes and ``OSError``s; they become these
classes where they enter (``drivers.mqtt.session``).
"""

from __future__ import annotations

from drivers.errors import ConfigurationError, ConnectionLost, DriverError


class MqttConfigError(ConfigurationError):
    """The MQTT configuration is wrong (bad filter, impossible option combination)."""


class MqttConnectError(ConnectionLost):
    """The broker could not be reached or refused the connection."""


class SubscriptionRefused(DriverError):
    """The broker refused a subscription (not authorised, shared subscriptions unsupported)."""


class PayloadError(DriverError):
    """A payload did not decode or validate; the driver turns it into a dead letter."""
