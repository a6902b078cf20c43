"""Per-device health: counters, state, and the circuit breaker that backs a dead meter off.

Time here is slot time (the poll boundary), not the wall clock, so back-off is
counted in whole cycles and ``poll_once`` with made-up slots behaves like the
scheduler.
"""

from __future__ import annotations

import enum
from dataclasses import dataclass
from datetime import datetime, timedelta


class DeviceState(enum.StrEnum):
    UNKNOWN = "unknown"
    """Not polled yet."""
    OK = "ok"
    FAILING = "failing"
    """The last cycle failed; still polled every cycle (last in the cycle's order)."""
    BACKOFF = "backoff"
    """Failed ``breaker_threshold`` cycles in a row: skipped until ``next_attempt_at`` (a probe)."""


@dataclass(frozen=True, slots=True, kw_only=True)
class DeviceStats:
    """A snapshot of one device's counters, for the gateway's metrics and status pages."""

    bus: str
    unit_id: int
    profile: str
    serial: str | None
    state: DeviceState
    requests: int
    errors: int
    timeouts: int
    skipped_cycles: int
    consecutive_failures: int
    last_success_at: datetime | None
    """Wall-clock time of the last complete poll; None: never."""
    last_error: str | None
    next_attempt_at: datetime | None
    """Slot of the next probe while backing off; None otherwise."""


class DeviceHealth:
    """Mutable health of one device; the poller reports outcomes, the cycle asks ``due``."""

    def __init__(self, *, threshold: int, interval: timedelta, backoff_max: timedelta) -> None:
        self.threshold = threshold
        self.interval = interval
        self.backoff_max = backoff_max
        self.state = DeviceState.UNKNOWN
        self.requests = 0
        self.errors = 0
        self.timeouts = 0
        self.skipped_cycles = 0
        self.consecutive_failures = 0
        self.last_success_at: datetime | None = None
        self.last_error: str | None = None
        self.next_attempt_at: datetime | None = None

    def due(self, slot: datetime) -> bool:
        """Whether to poll in ``slot``; counts a skipped cycle when not."""
        if (
            self.state is DeviceState.BACKOFF
            and self.next_attempt_at
            and slot < self.next_attempt_at
        ):
            self.skipped_cycles += 1
            return False
        return True

    @property
    def order(self) -> int:
        """Healthy devices first in a cycle, failing ones and probes after them."""
        return 0 if self.state in (DeviceState.OK, DeviceState.UNKNOWN) else 1

    def succeeded(self, at: datetime) -> bool:
        """Record a complete poll; True when this is a recovery from failure."""
        recovered = self.state in (DeviceState.FAILING, DeviceState.BACKOFF)
        self.state = DeviceState.OK
        self.consecutive_failures = 0
        self.next_attempt_at = None
        self.last_success_at = at
        return recovered

    def failed(self, slot: datetime, error: str) -> bool:
        """Record a failed cycle; True when the device just went bad (log loudly once)."""
        went_bad = self.state in (DeviceState.OK, DeviceState.UNKNOWN)
        self.consecutive_failures += 1
        self.last_error = error
        over = self.consecutive_failures - self.threshold
        if over < 0:
            self.state = DeviceState.FAILING
            return went_bad
        self.state = DeviceState.BACKOFF
        self.next_attempt_at = slot + min(self.interval * 2 ** min(over + 1, 20), self.backoff_max)
        return went_bad

    def snapshot(self, *, bus: str, unit_id: int, profile: str, serial: str | None) -> DeviceStats:
        return DeviceStats(
            bus=bus,
            unit_id=unit_id,
            profile=profile,
            serial=serial,
            state=self.state,
            requests=self.requests,
            errors=self.errors,
            timeouts=self.timeouts,
            skipped_cycles=self.skipped_cycles,
            consecutive_failures=self.consecutive_failures,
            last_success_at=self.last_success_at,
            last_error=self.last_error,
            next_attempt_at=self.next_attempt_at,
        )
