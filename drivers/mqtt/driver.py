"""``MqttDriver``: MQTT messages in, one ``Delivery`` per message out.

``async with MqttDriver(cfg) as driver: async for delivery in driver: ...``
Entering waits until the broker has accepted the connection and the
subscriptions (or raises ``MqttConnectError`` / ``SubscriptionRefused``);
later connection losses are healed inside, with jittered back-off, and the
persistent session makes the broker redeliver what was not acknowledged.
A message's PUBACK goes out only when its ``Delivery.ack`` is called.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from datetime import UTC, datetime
from types import TracebackType
from typing import Self

from drivers.base import Delivery
from drivers.domain import DeadLetter
from drivers.errors import DriverError
from drivers.mqtt.config import MqttConfig
from drivers.mqtt.errors import PayloadError
from drivers.mqtt.inbox import Inbox
from drivers.mqtt.router import Router
from drivers.mqtt.session import MqttSession

log = logging.getLogger(__name__)


class _Ack:
    """``Delivery.ack`` of one message: sends its PUBACK once; callable from any thread."""

    __slots__ = ("_done", "_generation", "_mid", "_session")

    def __init__(self, session: MqttSession, mid: int, generation: int) -> None:
        self._session = session
        self._mid = mid
        self._generation = generation
        self._done = False

    def __call__(self) -> None:
        if not self._done:
            self._done = True
            self._session.ack(self._mid, self._generation)


def _nothing_to_ack() -> None:
    """QoS 0 messages have no PUBACK."""


class _Closed(DriverError):
    """Ends a pending ``__anext__`` when the driver closes."""


class MqttDriver:
    """The MQTT driver (implements ``drivers.base.Driver``)."""

    def __init__(self, config: MqttConfig) -> None:
        self._config = config
        self._router = Router(config.routes)
        self._session: MqttSession | None = None
        self._inbox: Inbox | None = None

    @property
    def config(self) -> MqttConfig:
        return self._config

    @property
    def queued(self) -> int:
        """Messages received and not yet taken by the consumer (at most ``queue_size``)."""
        return 0 if self._inbox is None else len(self._inbox)

    async def __aenter__(self) -> Self:
        if self._session is not None:
            raise RuntimeError("MqttDriver is already open")
        inbox = Inbox(self._config.queue_size, on_room=self._resume_reading)
        session = MqttSession(self._config, inbox)
        self._inbox, self._session = inbox, session
        try:
            await session.open()
        except BaseException:
            self._inbox = self._session = None
            raise
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        await self._close()

    def __aiter__(self) -> Self:
        return self

    async def __anext__(self) -> Delivery:
        inbox, session = self._inbox, self._session
        if inbox is None or session is None:
            raise StopAsyncIteration
        try:
            topic, payload, mid, qos, generation = await inbox.get()
        except _Closed:
            raise StopAsyncIteration from None
        ack: Callable[[], None] = _Ack(session, mid, generation) if qos else _nothing_to_ack
        if topic is None:
            return self._dead("<topic is not UTF-8>", "topic is not UTF-8", payload, ack)
        try:
            readings = self._router.decode(topic, payload)
        except PayloadError as exc:
            return self._dead(topic, str(exc), payload, ack)
        except Exception as exc:  # a decoder bug must not stop the stream (poison message)
            log.exception("decoder failed on topic %s", topic)
            return self._dead(topic, f"decoder error: {exc!r}", payload, ack)
        return Delivery(readings=readings, ack=ack)

    @staticmethod
    def _dead(origin: str, reason: str, payload: bytes, ack: Callable[[], None]) -> Delivery:
        letter = DeadLetter(
            kind="mqtt",
            origin=origin,
            reason=reason,
            payload=payload,
            received_at=datetime.now(UTC),
        )
        return Delivery(dead_letters=(letter,), ack=ack)

    def _resume_reading(self) -> None:
        if self._session is not None:
            self._session.resume()

    async def _close(self) -> None:
        session, self._session = self._session, None
        if self._inbox is not None:
            self._inbox.fail(_Closed("the MQTT driver is closed"))
        self._inbox = None
        if session is not None:
            await session.close()
