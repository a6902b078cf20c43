"""Errors raised by drivers. Third-party errors are translated where they enter."""


class DriverError(Exception):
    """Base class of every error a driver raises."""


class DeviceError(DriverError):
    """A device did not answer, or answered with an exception or garbage."""


class ConnectionLost(DriverError):
    """The transport (socket, serial port, broker) went away."""


class ConfigurationError(DriverError):
    """A profile, device or topic description is wrong."""
