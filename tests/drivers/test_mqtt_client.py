"""The buffered receive path (drivers.mqtt.client) against a scripted MQTT peer.

A real broker decides for itself how its packets fall into TCP segments; these
tests need to choose: packets split at every possible place, several packets
in one segment, v5 properties of every shape, malformed lengths. So the peer
here is a TCP server that speaks just enough MQTT (CONNACK, SUBACK, then a
byte stream cut where the test says) and records the PUBACKs it gets back.
The driver under test is the real one, over a real socket.
"""

from __future__ import annotations

import asyncio
import contextlib
import struct
from dataclasses import dataclass, field

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from paho.mqtt.packettypes import PacketTypes
from paho.mqtt.properties import Properties

from drivers.mqtt import MqttConfig, TopicRoute
from drivers.mqtt.client import RECV_SIZE
from drivers.mqtt.inbox import Inbox
from drivers.mqtt.session import MqttSession


def varint(n: int) -> bytes:
    out = bytearray()
    while True:
        byte, n = n & 0x7F, n >> 7
        out.append(byte | (0x80 if n else 0))
        if not n:
            return bytes(out)


@dataclass(frozen=True)
class Publish:
    topic: str
    payload: bytes
    qos: int = 1
    mid: int = 1
    properties: bytes = b"\x00"
    """Encoded v5 properties, length included (ignored for 3.1.1)."""

    def encode(self, v5: bool) -> bytes:
        topic = self.topic.encode()
        body = struct.pack("!H", len(topic)) + topic
        if self.qos:
            body += struct.pack("!H", self.mid)
        if v5:
            body += self.properties
        body += self.payload
        return bytes([0x30 | self.qos << 1]) + varint(len(body)) + body


@dataclass
class Peer:
    """A one-connection-at-a-time MQTT server that plays a script of bytes."""

    v5: bool
    chunks: list[bytes] = field(default_factory=list)
    want_acks: int = 0
    pubacks: list[int] = field(default_factory=list)
    all_acked: asyncio.Event = field(default_factory=asyncio.Event)
    closed_by_client: asyncio.Event = field(default_factory=asyncio.Event)
    finished: asyncio.Event = field(default_factory=asyncio.Event)
    connections: int = 0

    async def serve(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        self.connections += 1
        try:
            await self._packet(reader)  # CONNECT
            writer.write(b"\x20\x03\x00\x00\x00" if self.v5 else b"\x20\x02\x00\x00")
            kind, body = await self._packet(reader)  # SUBSCRIBE
            assert kind & 0xF0 == 0x80
            suback = body[:2] + (b"\x00\x01" if self.v5 else b"\x01")
            writer.write(b"\x90" + varint(len(suback)) + suback)
            await writer.drain()
            for chunk in self.chunks:
                writer.write(chunk)
                await writer.drain()
                await asyncio.sleep(0.002)  # let each chunk arrive as its own segment
            while True:
                kind, body = await self._packet(reader)
                if kind & 0xF0 == 0x40:
                    self.pubacks.append(struct.unpack("!H", body[:2])[0])
                    if len(self.pubacks) >= self.want_acks:
                        self.all_acked.set()
        except (asyncio.IncompleteReadError, ConnectionError):
            self.closed_by_client.set()
        finally:
            writer.close()
            self.finished.set()

    @staticmethod
    async def _packet(reader: asyncio.StreamReader) -> tuple[int, bytes]:
        kind = (await reader.readexactly(1))[0]
        length, shift = 0, 0
        while True:
            byte = (await reader.readexactly(1))[0]
            length |= (byte & 0x7F) << shift
            shift += 7
            if not byte & 0x80:
                break
        return kind, await reader.readexactly(length)


@contextlib.asynccontextmanager
async def peer_server(peer: Peer):  # type: ignore[no-untyped-def]
    server = await asyncio.start_server(peer.serve, "127.0.0.1", 0)
    try:
        yield server.sockets[0].getsockname()[1]
        async with asyncio.timeout(10):  # the client's DISCONNECT ends the script
            await peer.finished.wait()
    finally:
        server.close()


def session_config(port: int, v5: bool, queue_size: int) -> MqttConfig:
    return MqttConfig(
        host="127.0.0.1",
        port=port,
        client_id="scripted",
        protocol="5" if v5 else "3.1.1",
        routes=(TopicRoute(topic_filter="m/+/reading", payload_format="metergate"),),
        queue_size=queue_size,
        reconnect_min=5.0,  # one connection per test: the peer plays its script once
        reconnect_max=5.0,
        connect_timeout=5.0,
    )


def cut(stream: bytes, points: list[int]) -> list[bytes]:
    edges = sorted({p for p in points if 0 < p < len(stream)})
    return [stream[a:b] for a, b in zip([0, *edges], [*edges, len(stream)], strict=True)]


Received = tuple[str | None, bytes, int]


async def play(
    messages: list[Publish], v5: bool, chunks: list[bytes], capacity: int = 20_000
) -> tuple[list[Received], Peer]:
    """Serve ``chunks``; read ``len(messages)`` messages, acking each; wait for the PUBACKs."""
    peer = Peer(v5=v5, chunks=chunks, want_acks=sum(1 for m in messages if m.qos))
    if not peer.want_acks:
        peer.all_acked.set()
    got: list[Received] = []
    async with peer_server(peer) as port:
        session: MqttSession | None = None

        def resume() -> None:
            assert session is not None
            session.resume()

        inbox = Inbox(capacity, on_room=resume)
        session = MqttSession(session_config(port, v5, capacity), inbox)
        await session.open()
        try:
            async with asyncio.timeout(20):
                while len(got) < len(messages):
                    item = await inbox.get()
                    got.append((item.topic, item.payload, item.qos))
                    if item.qos:
                        session.ack(item.mid, item.generation)
                await peer.all_acked.wait()
        finally:
            await session.close()
    assert sorted(peer.pubacks) == sorted(m.mid for m in messages if m.qos)
    return got, peer


def sent(messages: list[Publish]) -> list[Received]:
    return [(m.topic, m.payload, m.qos) for m in messages]


def stream_of(messages: list[Publish], v5: bool) -> bytes:
    return b"".join(m.encode(v5) for m in messages)


def properties(**values: object) -> bytes:
    """v5 PUBLISH properties encoded by paho (length prefix included)."""
    props = Properties(PacketTypes.PUBLISH)  # type: ignore[no-untyped-call]
    for name, value in values.items():
        setattr(props, name, value)
    encoded: bytes = props.pack()  # type: ignore[no-untyped-call]
    return encoded


SHAPES = [
    Publish("m/A1/reading", b'{"meter":"A1"}', mid=1),
    Publish("m/A2/reading", b"x" * 200, mid=2, properties=properties(MessageExpiryInterval=60)),
    Publish("m/A3/reading", b"", qos=0),
    Publish(
        "m/лічильник/reading",
        b"y" * 20_000,  # three-byte remaining length
        mid=65535,
        properties=properties(UserProperty=[("k", "v" * 300)], PayloadFormatIndicator=1),
    ),
    Publish("m/A5/reading", b"z", mid=7),
]


@pytest.mark.parametrize("v5", [True, False], ids=["v5", "v311"])
async def test_packets_cut_into_single_bytes_arrive_whole(v5: bool) -> None:
    small = [m for m in SHAPES if len(m.payload) < 1000]
    stream = stream_of(small, v5)
    got, _ = await play(small, v5, [stream[i : i + 1] for i in range(len(stream))])
    assert got == sent(small)


@pytest.mark.parametrize("v5", [True, False], ids=["v5", "v311"])
async def test_every_packet_shape_in_one_segment(v5: bool) -> None:
    got, _ = await play(SHAPES, v5, [stream_of(SHAPES, v5)])
    assert got == sent(SHAPES)


async def test_a_packet_larger_than_the_receive_buffer() -> None:
    big = Publish("m/BIG/reading", bytes(range(256)) * (RECV_SIZE // 256 * 3 + 1), mid=3)
    messages = [SHAPES[0], big, SHAPES[4]]
    stream = stream_of(messages, True)
    got, _ = await play(messages, True, cut(stream, [10, RECV_SIZE - 5, RECV_SIZE + 7]))
    assert got == sent(messages)


async def test_a_full_inbox_resumes_with_packets_still_buffered() -> None:
    """Thousands of packets in one segment and an inbox of 8: each pause leaves
    bytes in the client's buffer that the socket will never signal again."""
    messages = [Publish(f"m/S{i}/reading", reading(i), mid=i % 65535 + 1) for i in range(3000)]
    got, _ = await play(messages, True, [stream_of(messages, True)], capacity=8)
    assert got == sent(messages)


MALFORMED = {
    "properties past the end": Publish("m/B/reading", b"p", mid=9, properties=varint(50)).encode(
        True
    ),
    "topic past the end": b"\x32\x05\x00\x40m/B\x00",
    "five-byte remaining length": b"\x32\xff\xff\xff\xff\x01" + bytes(64),
}


@pytest.mark.parametrize("bad", MALFORMED.values(), ids=MALFORMED.keys())
async def test_a_malformed_publish_drops_the_connection_after_the_good_ones(bad: bytes) -> None:
    good = SHAPES[0]
    peer_chunks = [good.encode(True) + bad]
    peer = Peer(v5=True, chunks=peer_chunks)
    async with peer_server(peer) as port:
        inbox = Inbox(100, on_room=lambda: None)
        session = MqttSession(session_config(port, True, 100), inbox)
        await session.open()
        try:
            async with asyncio.timeout(10):
                item = await inbox.get()
                await peer.closed_by_client.wait()
        finally:
            await session.close()
    assert (item.topic, item.payload) == (good.topic, good.payload)
    assert len(inbox) == 0


def reading(n: int) -> bytes:
    return f'{{"meter":"S{n}","ts":{1740780000 + n},"registers":[]}}'.encode()


publishes = st.builds(
    Publish,
    topic=st.text(st.characters(codec="utf-8", exclude_characters="\x00"), min_size=1, max_size=40),
    payload=st.one_of(
        st.binary(max_size=300),
        st.integers(16_000, 40_000).map(lambda n: bytes([n % 251]) * n),  # multi-byte lengths
    ),
    qos=st.sampled_from([0, 1]),
    mid=st.integers(1, 65535),
    properties=st.sampled_from(
        [b"\x00", properties(MessageExpiryInterval=5), properties(UserProperty=[("a", "b" * 200)])]
    ),
)


@settings(max_examples=25, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    messages=st.lists(publishes, min_size=1, max_size=12),
    v5=st.booleans(),
    points=st.lists(st.integers(0, 100_000), max_size=12),
)
def test_any_cut_of_any_stream_arrives_whole(
    messages: list[Publish], v5: bool, points: list[int]
) -> None:
    if not v5:  # MQTT 3.1.1 has no properties and no empty topics to encode
        messages = [Publish(m.topic, m.payload, m.qos, m.mid) for m in messages]
    numbered = [
        Publish(m.topic, m.payload, m.qos, i + 1, m.properties) for i, m in enumerate(messages)
    ]
    stream = stream_of(numbered, v5)
    got, _ = asyncio.run(play(numbered, v5, cut(stream, points)))
    assert got == sent(numbered)
