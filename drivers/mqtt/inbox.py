"""Bounded queue between the socket reader and the consumer (both on the event loop).

The reader asks ``has_room()`` before every packet it reads, so the inbox never
holds more than ``capacity`` messages. When it is full the reader stops watching
the socket and TCP pushes back to the broker: nothing is dropped. The consumer
calls ``on_room`` once the inbox has drained to three quarters.
"""

from __future__ import annotations

import asyncio
from collections import deque
from collections.abc import Callable
from typing import NamedTuple


class Incoming(NamedTuple):
    """One received PUBLISH."""

    topic: str | None
    """None when the topic is not UTF-8 (the message becomes a dead letter)."""
    payload: bytes
    mid: int
    qos: int
    generation: int
    """Connection number it arrived on; an ack from an older connection is void."""


class Inbox:
    """Single producer, single consumer, same event loop."""

    def __init__(self, capacity: int, on_room: Callable[[], None]) -> None:
        self._capacity = capacity
        self._resume_at = capacity * 3 // 4
        self._on_room = on_room
        self._items: deque[Incoming] = deque()
        self._waiter: asyncio.Future[None] | None = None
        self._paused = False
        self._error: BaseException | None = None

    def __len__(self) -> int:
        return len(self._items)

    def has_room(self) -> bool:
        """Whether one more message may be read; remembers a refusal for ``on_room``."""
        if len(self._items) < self._capacity:
            return True
        self._paused = True
        return False

    def put(self, item: Incoming) -> None:
        self._items.append(item)
        self._wake()

    def fail(self, error: BaseException) -> None:
        """End the stream with ``error`` once the items already queued are consumed."""
        if self._error is None:
            self._error = error
        self._wake()

    def _wake(self) -> None:
        waiter, self._waiter = self._waiter, None
        if waiter is not None and not waiter.done():
            waiter.set_result(None)

    async def get(self) -> Incoming:
        """The next message; raises the error given to ``fail`` when drained."""
        while True:
            if self._items:
                item = self._items.popleft()
                if self._paused and len(self._items) <= self._resume_at:
                    self._paused = False
                    self._on_room()
                return item
            if self._error is not None:
                raise self._error
            waiter = asyncio.get_running_loop().create_future()
            self._waiter = waiter
            try:
                await waiter
            finally:
                if self._waiter is waiter:
                    self._waiter = None
