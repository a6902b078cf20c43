"""paho's client with a leaner receive path for the gateway's inbound stream.

paho reads every packet with at least three ``recv`` calls (the command byte,
each byte of the remaining length, the rest) and turns a PUBLISH into an
``MQTTMessage`` with parsed v5 properties, a log call and a walk of its
per-topic callback trie before ``on_message`` sees it. At tens of thousands of
messages per second that was most of the gateway's receive cost. This
subclass changes two things and leaves everything else (connect, subscribe,
acknowledgements, keepalive, reconnect, every other packet) to paho:

- ``_sock_recv`` reads up to ``RECV_SIZE`` bytes at a time into a buffer and
  serves paho's small reads from it;
- a QoS 0/1 PUBLISH that lies whole in that buffer is parsed here and handed
  to ``deliver(topic, payload, mid, qos)`` as bytes: no ``MQTTMessage``, no
  property objects. Its v5 properties are skipped; the session never allows
  topic aliases (no Topic Alias Maximum in CONNECT), so none carries meaning
  for the gateway. A packet that is not whole yet, any other packet type, and
  QoS 2 go through paho's own reader, which reads from the same buffer.

Bytes can now wait in the buffer while the socket itself has nothing to read,
so whoever drives the client must keep calling ``loop_read`` while
``buffered()`` is true instead of waiting for the socket to become readable.

paho is pinned to the 2.x line in pyproject.toml: this relies on its
``_sock_recv``/``_packet_read``/``_in_packet`` internals, which the driver
tests exercise on every path (whole, split and interleaved packets).
"""

from __future__ import annotations

from collections.abc import Callable
from time import monotonic
from typing import Any

import paho.mqtt.client as paho
from paho.mqtt.enums import MQTTErrorCode

RECV_SIZE = 256 * 1024
"""Bytes asked of the socket per ``recv`` when the buffer is empty."""

_PUBLISH = 0x30
_OK = paho.MQTT_ERR_SUCCESS
_PROTOCOL_ERROR = paho.MQTT_ERR_PROTOCOL

Deliver = Callable[[bytes, bytes, int, int], None]
"""``deliver(topic, payload, mid, qos)`` for each PUBLISH taken by the fast path."""


class MalformedPublish(ValueError):
    """A PUBLISH whose lengths do not add up (the connection is dropped)."""


def _varint(buf: bytearray, pos: int, end: int, what: str) -> tuple[int, int] | None:
    """The MQTT variable byte integer at ``pos`` (1..4 bytes, 7 bits each, least
    significant first) and the position after it; None if it runs past ``end``."""
    value = 0
    for shift in (0, 7, 14, 21):
        if pos >= end:
            return None
        byte = buf[pos]
        pos += 1
        value |= (byte & 0x7F) << shift
        if not byte & 0x80:
            return value, pos
    raise MalformedPublish(f"{what} longer than 4 bytes")


class BufferedClient(paho.Client):
    """paho's client with a receive buffer and a direct path for PUBLISH packets."""

    def __init__(self, *args: Any, deliver: Deliver, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self._deliver = deliver
        self._rx = bytearray()
        self._rx_sock: Any = None
        self._v5 = self._protocol == paho.MQTTv5

    def buffered(self) -> bool:
        """Whether received bytes wait in the buffer (the socket may look idle)."""
        return bool(self._rx) and self._rx_sock is self._sock

    def queue_pubacks(self, packets: bytes) -> None:
        """Queue ready-made PUBACK packets, one after another, as a single write."""
        self._packet_queue(paho.PUBACK, packets, 0, 0)

    # --- buffered socket reads -------------------------------------------------------

    def _buffer(self) -> bytearray:
        """The receive buffer of the current socket (emptied when the socket changed)."""
        if self._rx_sock is not self._sock:
            self._rx_sock = self._sock
            self._rx = bytearray()
        return self._rx

    def _sock_recv(self, bufsize: int) -> bytes:
        rx = self._buffer()
        if not rx:
            data = super()._sock_recv(RECV_SIZE)
            if len(data) <= bufsize:
                return data  # includes b"" (the peer closed)
            rx += data
        chunk = bytes(rx[:bufsize])
        del rx[:bufsize]
        return chunk

    # --- the PUBLISH fast path ---------------------------------------------------------

    def _packet_read(self) -> MQTTErrorCode:
        if self._in_packet["command"] == 0 and self._manual_ack:
            rx = self._buffer()
            if rx and rx[0] & 0xF4 == _PUBLISH:  # QoS 0 or 1
                try:
                    taken = self._take_publish(rx)
                except MalformedPublish:
                    return _PROTOCOL_ERROR
                if taken:
                    return _OK
        return super()._packet_read()

    def _take_publish(self, rx: bytearray) -> bool:
        """Parse and deliver the PUBLISH at the head of ``rx`` if it is whole there."""
        size = len(rx)
        header = _varint(rx, 1, size, "remaining length")
        if header is None:
            return False
        length, pos = header
        end = pos + length
        if end > size:
            return False
        if length < 2:
            raise MalformedPublish("no room for the topic length")
        qos = (rx[0] >> 1) & 0x03
        topic_end = pos + 2 + ((rx[pos] << 8) | rx[pos + 1])
        body = topic_end + 2 if qos else topic_end
        if body > end:
            raise MalformedPublish("topic and packet id exceed the packet")
        mid = (rx[topic_end] << 8) | rx[topic_end + 1] if qos else 0
        if self._v5:
            found = _varint(rx, body, end, "property length")
            if found is None:
                raise MalformedPublish("properties exceed the packet")
            properties, body = found
            body += properties
            if body > end:
                raise MalformedPublish("properties exceed the packet")
        elif topic_end == pos + 2:
            raise MalformedPublish("empty topic in MQTT 3.1.1")
        topic = bytes(rx[pos + 2 : topic_end])
        payload = bytes(rx[body:end])
        del rx[:end]
        self._last_bytes_received = monotonic()
        self._deliver(topic, payload, mid, qos)
        return True

    def _handle_on_message(self, message: paho.MQTTMessage) -> None:
        """PUBLISH packets paho reads itself go straight to ``on_message`` too.

        paho would first walk its trie of per-topic callbacks
        (``message_callback_add``); the session registers none. Called under
        paho's callback lock, as paho does."""
        on_message = self.on_message
        if on_message is not None:
            with self._in_callback_mutex:
                on_message(self, self._userdata, message)
