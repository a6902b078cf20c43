"""The driver interface: an async context manager you iterate for deliveries.

A driver owns its connections. ``async with driver:`` opens them;
``async for delivery in driver:`` yields what arrived. A delivery carries the
readings decoded from one unit of input (an MQTT message, one device's poll)
and an ``ack`` to call once those readings are durable (committed in the store
or written to the spool). Nothing is acknowledged before that, so a crash
re-delivers instead of losing.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Callable
from dataclasses import dataclass
from types import TracebackType
from typing import Protocol, Self, runtime_checkable

from drivers.domain import DeadLetter, Reading


def _no_ack() -> None:
    """Polled input has nothing to acknowledge."""


@dataclass(frozen=True, slots=True, kw_only=True)
class Delivery:
    """What one unit of input produced: readings, dead letters, or both."""

    readings: tuple[Reading, ...] = ()
    dead_letters: tuple[DeadLetter, ...] = ()
    ack: Callable[[], None] = _no_ack
    """Call exactly once, after ``readings`` and ``dead_letters`` are durable."""


@runtime_checkable
class Driver(Protocol):
    """What every driver kind implements."""

    async def __aenter__(self) -> Self: ...

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None: ...

    def __aiter__(self) -> AsyncIterator[Delivery]: ...
