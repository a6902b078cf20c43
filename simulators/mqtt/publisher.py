"""A QoS 1 publisher for the simulators: paho in its own network thread.

``publish`` is called from the event loop (paho's ``publish`` is meant to be
called from other threads while ``loop_start`` runs); ``drain`` waits until the
broker has acknowledged everything published so far.
"""

from __future__ import annotations

import asyncio
import itertools
from types import TracebackType
from typing import Any, Self

import paho.mqtt.client as paho
from paho.mqtt.enums import CallbackAPIVersion

_MAX_PENDING = 5_000
"""Unacknowledged publishes before ``publish`` waits (bounds memory)."""


class Publisher:
    """QoS 1 publishing client; ``protocol`` is ``"5"`` or ``"3.1.1"``."""

    def __init__(
        self,
        host: str,
        port: int,
        *,
        protocol: str = "5",
        client_id: str | None = None,
        username: str | None = None,
        password: str | None = None,
        tls: bool = False,
    ) -> None:
        self._host, self._port = host, port
        self._client = paho.Client(
            CallbackAPIVersion.VERSION2,
            client_id=client_id or f"metergate-sim-{next(_ids)}",
            protocol=paho.MQTTv5 if protocol == "5" else paho.MQTTv311,
        )
        self._client.max_inflight_messages_set(1000)
        if username is not None:
            self._client.username_pw_set(username, password)
        if tls:
            self._client.tls_set()
        self._client.on_publish = self._on_publish
        self._client.on_connect = self._on_connect
        self._connected: asyncio.Future[None] | None = None
        self._loop: asyncio.AbstractEventLoop | None = None
        self.published = 0
        self.acked = 0

    async def __aenter__(self) -> Self:
        self._loop = asyncio.get_running_loop()
        self._connected = self._loop.create_future()
        await asyncio.to_thread(self._client.connect, self._host, self._port, 60)
        self._client.loop_start()
        try:
            async with asyncio.timeout(10):
                await self._connected
        except BaseException:
            stop_network_thread(self._client)
            raise
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        try:
            if exc_type is None:
                async with asyncio.timeout(60):
                    await self.drain()
        finally:
            self._client.disconnect()
            await asyncio.to_thread(stop_network_thread, self._client)

    async def publish(self, topic: str, payload: bytes) -> None:
        """Queue one QoS 1 message; waits while too many are unacknowledged."""
        while self.published - self.acked >= _MAX_PENDING:  # noqa: ASYNC110 - see drain
            await asyncio.sleep(0.002)
        info = self._client.publish(topic, payload, qos=1)
        if info.rc != paho.MQTT_ERR_SUCCESS and info.rc != paho.MQTT_ERR_NO_CONN:
            raise ConnectionError(f"publish failed: {paho.error_string(info.rc)}")
        self.published += 1

    async def drain(self) -> None:
        """Wait until the broker acknowledged every message published so far."""
        while self.acked < self.published:  # noqa: ASYNC110 - counter bumped by paho's thread
            await asyncio.sleep(0.005)

    def _on_publish(self, client: Any, userdata: Any, mid: int, reason: Any, props: Any) -> None:
        self.acked += 1  # single writer: paho's network thread

    def _on_connect(self, client: Any, userdata: Any, flags: Any, reason: Any, props: Any) -> None:
        loop, future = self._loop, self._connected
        if loop is None or future is None:
            return
        error = None if not reason.is_failure else ConnectionError(f"broker refused: {reason}")
        loop.call_soon_threadsafe(_settle, future, error)


def stop_network_thread(client: paho.Client) -> None:
    """``loop_stop``, then close the socket pair that ``loop_start`` opened to
    wake paho's network thread.

    paho closes that pair only in the client's finalizer. A client sits in a
    reference cycle (its thread's target is its own method), so the cyclic
    collector frees it, and may finalize the two sockets before the client:
    each then warns as an unclosed socket. One such pair, collected at the end
    of a test run, failed the suite (warnings are errors there)."""
    client.loop_stop()
    client._reset_sockets(sockpair_only=True)


def _settle(future: asyncio.Future[None], error: BaseException | None) -> None:
    if future.done():
        return
    if error is None:
        future.set_result(None)
    else:
        future.set_exception(error)


_ids = itertools.count(1)
