"""Bus and device settings for the Modbus driver, as frozen value objects that check themselves."""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Literal

from drivers.errors import ConfigurationError

Transport = Literal["tcp", "rtu", "rtu-over-tcp"]
"""``tcp``: Modbus TCP (MBAP). ``rtu``: RTU on a serial port. ``rtu-over-tcp``: RTU
frames over a TCP socket, as serial device servers (RS-485 gateways) speak."""

_TRANSPORTS = ("tcp", "rtu", "rtu-over-tcp")
_NAME = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._-]{0,62}$")
RTU_GAP_S = 0.01
"""Default silence between frames on RTU framing: comfortably over 3.5 characters at 9600 baud."""


@dataclass(frozen=True, slots=True, kw_only=True)
class BusConfig:
    """One physical bus (a TCP endpoint or a serial port) and how it is polled.

    ``inter_frame_gap_s`` None: 0 for ``tcp``, ``RTU_GAP_S`` for RTU framing.
    ``retries`` applies to quick failures (garbled frame, busy); a timeout is never
    retried in the same cycle. After ``breaker_threshold`` failed cycles in a row a
    device is skipped for a back-off that doubles up to ``backoff_max_s``.
    ``cycle_budget_s`` None: 90 % of the poll interval.
    """

    name: str
    transport: Transport = "tcp"
    host: str | None = None
    port: int = 502
    serial_port: str | None = None
    baudrate: int = 9600
    parity: Literal["N", "E", "O"] = "N"
    stopbits: int = 1
    bytesize: int = 8
    inter_frame_gap_s: float | None = None
    timeout_s: float = 1.0
    retries: int = 1
    poll_interval_s: float = 900.0
    offset_s: float = 0.0
    max_gap: int = 16
    breaker_threshold: int = 3
    backoff_max_s: float = 6 * 3600.0
    cycle_budget_s: float | None = None

    def __post_init__(self) -> None:
        if not _NAME.match(self.name):
            raise ConfigurationError(f"bus name must match {_NAME.pattern}: {self.name!r}")
        if self.transport not in _TRANSPORTS:
            raise ConfigurationError(f"{self.name}: transport must be one of {_TRANSPORTS}")
        if self.transport == "rtu" and not self.serial_port:
            raise ConfigurationError(f"{self.name}: rtu needs serial_port")
        if self.transport != "rtu" and (not self.host or not 0 < self.port < 65536):
            raise ConfigurationError(f"{self.name}: {self.transport} needs host and port 1..65535")
        if self.parity not in ("N", "E", "O") or self.stopbits not in (1, 2):
            raise ConfigurationError(f"{self.name}: parity N/E/O and stopbits 1/2")
        if self.bytesize not in (7, 8) or self.baudrate <= 0:
            raise ConfigurationError(f"{self.name}: bytesize 7/8 and a positive baudrate")
        if self.timeout_s <= 0 or self.retries < 0 or self.max_gap < 0:
            raise ConfigurationError(f"{self.name}: timeout_s > 0, retries >= 0, max_gap >= 0")
        if self.inter_frame_gap_s is not None and self.inter_frame_gap_s < 0:
            raise ConfigurationError(f"{self.name}: inter_frame_gap_s must be >= 0")
        if self.poll_interval_s <= 0 or 86400 % self.poll_interval_s:
            raise ConfigurationError(f"{self.name}: poll_interval_s must divide a day (86400 s)")
        if not 0 <= self.offset_s < self.poll_interval_s:
            raise ConfigurationError(f"{self.name}: offset_s must be in [0, poll_interval_s)")
        if self.breaker_threshold < 1 or self.backoff_max_s < self.poll_interval_s:
            raise ConfigurationError(
                f"{self.name}: breaker_threshold >= 1 and backoff_max_s >= poll_interval_s"
            )
        if self.cycle_budget_s is not None and self.cycle_budget_s <= 0:
            raise ConfigurationError(f"{self.name}: cycle_budget_s must be > 0")

    @property
    def endpoint(self) -> str:
        """The physical bus: ``host:port`` or the serial port. One owner per endpoint."""
        if self.transport == "rtu":
            return f"serial:{self.serial_port}"
        return f"tcp:{self.host}:{self.port}"

    @property
    def gap_s(self) -> float:
        """The silent time kept between the end of one exchange and the next frame."""
        if self.inter_frame_gap_s is not None:
            return self.inter_frame_gap_s
        return 0.0 if self.transport == "tcp" else RTU_GAP_S

    @property
    def budget_s(self) -> float:
        """How long one cycle may take before devices left over are skipped."""
        return (
            self.cycle_budget_s if self.cycle_budget_s is not None else 0.9 * self.poll_interval_s
        )


@dataclass(frozen=True, slots=True, kw_only=True)
class DeviceConfig:
    """One meter on a bus: its unit id, profile name and, optionally, its known serial.

    ``serial`` None: read the profile's serial register once and cache it.
    """

    unit_id: int
    profile: str
    serial: str | None = None

    def __post_init__(self) -> None:
        if not 1 <= self.unit_id <= 247:
            raise ConfigurationError(f"unit_id must be 1..247, got {self.unit_id}")
        if not self.profile:
            raise ConfigurationError(f"unit {self.unit_id}: profile name missing")
        if self.serial is not None and not 1 <= len(self.serial) <= 64:
            raise ConfigurationError(f"unit {self.unit_id}: serial must be 1..64 characters")
