"""What the MQTT driver is told: broker, session, subscriptions and topic routes.

Every check happens here, when the configuration is built, so a wrong setting
stops the start with one clear message instead of failing at the first message.
"""

from __future__ import annotations

import enum
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from urllib.parse import unquote, urlsplit
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from drivers.domain import Register
from drivers.mqtt.errors import MqttConfigError
from drivers.mqtt.formats import PayloadFormat
from drivers.mqtt.topics import validate_filter, validate_share_group

_REGISTERS = frozenset(int(r) for r in Register)


class MqttProtocol(enum.StrEnum):
    """The MQTT protocol version spoken to the broker."""

    V5 = "5"
    V311 = "3.1.1"


@dataclass(frozen=True, slots=True, kw_only=True)
class TlsConfig:
    """TLS towards the broker. ``ca_file`` None means the system's trust store."""

    ca_file: Path | None = None
    cert_file: Path | None = None
    """Client certificate (PEM) for mutual TLS; needs ``key_file``."""
    key_file: Path | None = None
    insecure: bool = False
    """Skip certificate and host name checks. For test benches only."""

    def __post_init__(self) -> None:
        if (self.cert_file is None) != (self.key_file is None):
            raise MqttConfigError("TLS cert_file and key_file go together")


@dataclass(frozen=True, slots=True, kw_only=True)
class TopicRoute:
    """Which payload format a topic filter carries and where its meter serial is.

    The serial comes from ``serial_field`` (a payload key; for Tasmota a key of
    the sensor object) or from ``serial_topic_level`` (0-based level of the
    topic), never both. metergate payloads always carry it in ``meter``; unset,
    Tasmota uses the device level (1) of ``tele/<device>/SENSOR``; OBIS needs one.
    """

    topic_filter: str
    payload_format: PayloadFormat
    serial_field: str | None = None
    serial_topic_level: int | None = None
    timezone: str | None = None
    """Tasmota only, required: IANA zone of the device clock (``Time`` has no offset)."""
    sensor: str | None = None
    """Tasmota only: name of the SML sensor object; None = the one holding a register field."""
    fields: tuple[tuple[str, int], ...] = ()
    """Tasmota only: (JSON key, register) pairs; empty = ``Total_in``/``Total_out`` defaults."""

    def __post_init__(self) -> None:
        validate_filter(self.topic_filter)
        try:
            object.__setattr__(self, "payload_format", PayloadFormat(self.payload_format))
        except ValueError:
            raise MqttConfigError(f"unknown payload format {self.payload_format!r}") from None
        if self.serial_field is not None and self.serial_topic_level is not None:
            raise MqttConfigError(f"{self.topic_filter}: serial_field or serial_topic_level")
        if self.serial_field == "":
            raise MqttConfigError(f"{self.topic_filter}: serial_field must not be empty")
        self._check_topic_level()
        explicit = self.serial_field is not None or self.serial_topic_level is not None
        if self.payload_format is PayloadFormat.METERGATE and explicit:
            raise MqttConfigError(f"{self.topic_filter}: metergate names the meter in 'meter'")
        if self.payload_format is PayloadFormat.OBIS and self.serial_source() is None:
            raise MqttConfigError(f"{self.topic_filter}: OBIS payloads need a serial source")
        self._check_tasmota_options()

    def _check_topic_level(self) -> None:
        if self.serial_topic_level is None:
            return
        levels = self.topic_filter.split("/")
        level = self.serial_topic_level
        if not 0 <= level < len(levels) or "#" in levels[level : level + 1]:
            raise MqttConfigError(
                f"{self.topic_filter}: serial_topic_level {level} is not a level of the filter"
            )

    def _check_tasmota_options(self) -> None:
        tasmota_only = (self.timezone, self.sensor, self.fields)
        if self.payload_format is not PayloadFormat.TASMOTA:
            if any(tasmota_only):
                raise MqttConfigError(f"{self.topic_filter}: timezone/sensor/fields: Tasmota only")
            return
        if self.timezone is None:
            raise MqttConfigError(
                f"{self.topic_filter}: Tasmota sends local time without offset; set timezone"
            )
        try:
            ZoneInfo(self.timezone)
        except (ZoneInfoNotFoundError, ValueError):
            raise MqttConfigError(f"unknown time zone {self.timezone!r}") from None
        keys = [key for key, _ in self.fields]
        registers = [register for _, register in self.fields]
        if len(set(keys)) != len(keys) or len(set(registers)) != len(registers):
            raise MqttConfigError(f"{self.topic_filter}: Tasmota fields repeat a key or register")
        if not set(registers) <= _REGISTERS:
            raise MqttConfigError(f"{self.topic_filter}: unknown register in {self.fields}")

    def serial_source(self) -> tuple[str, str | int] | None:
        """``("field", key)`` or ``("topic", level)`` after format defaults; None if unset."""
        if self.serial_field is not None:
            return ("field", self.serial_field)
        if self.serial_topic_level is not None:
            return ("topic", self.serial_topic_level)
        if self.payload_format is PayloadFormat.METERGATE:
            return ("field", "meter")
        if self.payload_format is PayloadFormat.TASMOTA:
            return ("topic", 1)
        return None


@dataclass(frozen=True, slots=True, kw_only=True)
class MqttConfig:
    """One driver instance: one broker connection, one persistent session.

    ``client_id`` must stay the same across restarts: the broker keeps the
    session (subscriptions and unacknowledged messages) under it. Workers that
    share a stream need different client ids and the same ``share_group``.
    """

    host: str
    port: int = 1883
    client_id: str
    routes: tuple[TopicRoute, ...]
    protocol: MqttProtocol = MqttProtocol.V5
    share_group: str | None = None
    """MQTT v5 only: subscribe as ``$share/<group>/<filter>`` to split the stream."""
    username: str | None = None
    password: str | None = field(default=None, repr=False)
    tls: TlsConfig | None = None
    keepalive: int = 60
    session_expiry: int = 7 * 24 * 3600
    """MQTT v5: seconds the broker keeps the session while we are away (3.1.1: broker policy)."""
    receive_maximum: int = 65535
    """MQTT v5: unacknowledged messages the broker may have in flight towards us."""
    queue_size: int = 20_000
    """Messages waiting for the consumer; when full the driver stops reading the socket."""
    reconnect_min: float = 0.5
    reconnect_max: float = 30.0
    connect_timeout: float = 10.0

    def __post_init__(self) -> None:
        try:
            object.__setattr__(self, "protocol", MqttProtocol(self.protocol))
        except ValueError:
            raise MqttConfigError(f"unknown MQTT protocol {self.protocol!r}") from None
        self._check_numbers()
        if not self.host:
            raise MqttConfigError("host must not be empty")
        if not self.client_id or len(self.client_id.encode()) > 65535:
            raise MqttConfigError("client_id must be fixed and non-empty (persistent session)")
        if not self.routes:
            raise MqttConfigError("at least one topic route is needed")
        if self.password is not None and self.username is None:
            raise MqttConfigError("a password needs a username")
        if self.share_group is not None:
            validate_share_group(self.share_group)
            if self.protocol is MqttProtocol.V311:
                raise MqttConfigError(
                    "shared subscriptions need MQTT v5; MQTT 3.1.1 cannot use share_group"
                )

    def _check_numbers(self) -> None:
        checks = (
            (1 <= self.port <= 65535, "port must be 1..65535"),
            (5 <= self.keepalive <= 65535, "keepalive must be 5..65535 s"),
            (1 <= self.session_expiry <= 0xFFFFFFFF, "session_expiry must be >= 1 s (persistent)"),
            (1 <= self.receive_maximum <= 65535, "receive_maximum must be 1..65535"),
            (self.queue_size >= 1, "queue_size must be >= 1"),
            (0 < self.reconnect_min <= self.reconnect_max, "need 0 < reconnect_min <= max"),
            (self.connect_timeout > 0, "connect_timeout must be > 0"),
        )
        for ok, message in checks:
            if not ok:
                raise MqttConfigError(message)

    @classmethod
    def from_url(cls, url: str, **settings: Any) -> MqttConfig:
        """Build from ``mqtt://[user[:password]@]host[:port]`` (``mqtts://`` turns TLS on).

        ``settings`` give the other fields (``client_id`` and ``routes`` at least);
        an explicit ``tls`` replaces the default TLS of ``mqtts://``.
        """
        parts = urlsplit(url)
        if parts.scheme not in ("mqtt", "mqtts") or not parts.hostname:
            raise MqttConfigError(f"broker URL must be mqtt://host[:port] or mqtts://…: {url!r}")
        try:
            port = parts.port or (8883 if parts.scheme == "mqtts" else 1883)
        except ValueError:
            raise MqttConfigError(f"bad port in broker URL {url!r}") from None
        if parts.scheme == "mqtts":
            settings.setdefault("tls", TlsConfig())
        if parts.username is not None:
            settings.setdefault("username", unquote(parts.username))
        if parts.password is not None:
            settings.setdefault("password", unquote(parts.password))
        return cls(host=parts.hostname, port=port, **settings)
