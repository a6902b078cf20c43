"""The simulated wall clock: starts at a chosen instant and runs ``accelerate`` times real time."""

from __future__ import annotations

import time
from collections.abc import Callable
from datetime import UTC, datetime, timedelta

EPOCH = datetime(1970, 1, 1, tzinfo=UTC)


class SimClock:
    """Monotonic simulated time in epoch milliseconds; ``accelerate`` 0 freezes it (tests).

    ``advance`` jumps forward; the clock never goes back, so meter energy never does.
    """

    def __init__(
        self,
        *,
        start: datetime,
        accelerate: float = 1.0,
        monotonic: Callable[[], float] = time.monotonic,
    ) -> None:
        if start.tzinfo is None or start.utcoffset() is None:
            raise ValueError("start must be timezone-aware")
        if accelerate < 0:
            raise ValueError("accelerate must be >= 0")
        self.accelerate = accelerate
        self._start_ms = (start - EPOCH) // timedelta(milliseconds=1)
        self._monotonic = monotonic
        self._t0 = monotonic()
        self._jump_ms = 0

    def now_ms(self) -> int:
        """Simulated now, in milliseconds since the Unix epoch."""
        run = (self._monotonic() - self._t0) * self.accelerate * 1000
        return self._start_ms + self._jump_ms + int(run)

    def now(self) -> datetime:
        return EPOCH + timedelta(milliseconds=self.now_ms())

    def advance(self, seconds: float) -> None:
        """Jump the simulated clock forward by ``seconds``."""
        if seconds < 0:
            raise ValueError("the simulated clock only moves forward")
        self._jump_ms += round(seconds * 1000)
