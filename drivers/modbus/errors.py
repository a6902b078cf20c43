"""Modbus-specific refinements of the driver errors (``drivers.errors``)."""

from __future__ import annotations

from drivers.errors import DeviceError


class DeviceTimeout(DeviceError):
    """The device did not answer within its timeout. Never retried in the same cycle."""


class DeviceException(DeviceError):
    """The device answered with a Modbus exception code (``code``)."""

    def __init__(self, message: str, *, code: int) -> None:
        super().__init__(message)
        self.code = code

    @property
    def transient(self) -> bool:
        """Acknowledge (5) and busy (6) mean "ask again"; the rest will not change."""
        return self.code in (5, 6)
