"""The paho client driven by the asyncio event loop (paho's "external loop" mode).

Everything that touches the client runs on the event loop thread, except the
blocking TCP/TLS connect, which runs in the default executor while the loop
leaves the client alone (``_connected`` is False then). So paho needs no
locking: paho writes a queued packet at once from whichever thread queues it,
which is only safe because that is always the loop thread (``MqttSession.ack``
hops there from any other thread). PUBACKs are gathered during one turn of the
loop and queued as one write.

Reading: the socket is watched with ``add_reader`` only while the inbox has
room; a full inbox stops reading (TCP then pushes back to the broker) while
acknowledgements and keepalives keep flowing.

Each connection has a generation number. An acknowledgement carries the
generation its message arrived on and is dropped if the connection changed
since: the broker redelivers that message under the same packet id on the new
connection, and a stale PUBACK could acknowledge it, or a later message that
reuses the id, before it is durable.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import random
import ssl
import threading
from typing import Any

import paho.mqtt.client as paho
from paho.mqtt.enums import CallbackAPIVersion
from paho.mqtt.packettypes import PacketTypes
from paho.mqtt.properties import Properties
from paho.mqtt.reasoncodes import ReasonCode
from paho.mqtt.subscribeoptions import SubscribeOptions

from drivers.mqtt.client import BufferedClient
from drivers.mqtt.config import MqttConfig, MqttProtocol
from drivers.mqtt.errors import MqttConfigError, MqttConnectError, SubscriptionRefused
from drivers.mqtt.inbox import Inbox, Incoming
from drivers.mqtt.topics import subscription_filter

log = logging.getLogger(__name__)

_TICK = 1.0
"""Keepalive bookkeeping (``loop_misc``) runs this often."""
_READ_BURST = 64
"""Packets read per readiness callback before the loop serves others."""
_GOODBYE_WAIT = 2.0
"""How long closing waits for the DISCONNECT to be written."""

_OK = paho.MQTT_ERR_SUCCESS
_PUBACK = b"\x40\x02"
"""PUBACK fixed header; the packet id follows (v5: success, so no reason code)."""


def backoff_delay(attempt: int, low: float, high: float) -> float:
    """Jittered exponential back-off: uniform in [d/2, d], d = min(high, low * 2**attempt)."""
    ceiling = min(high, low * 2 ** min(attempt, 32))
    return random.uniform(ceiling / 2, ceiling)


class MqttSession:
    """One persistent MQTT session: connect, subscribe, read, ack, reconnect."""

    def __init__(self, config: MqttConfig, inbox: Inbox) -> None:
        self._config = config
        self._inbox = inbox
        self._loop = asyncio.get_running_loop()
        self._loop_thread = threading.get_ident()
        self._tls_context: _TlsContext | None = None
        self._client = self._make_client()
        self._generation = 0
        self._acks = bytearray()
        """PUBACK packets of the current connection not yet handed to paho."""
        self._connected = False
        self._closing = False
        self._attempt = 0
        self._received = 0
        self._sock: Any = None
        self._reading = False
        self._writing = False
        self._lost = asyncio.Event()
        self._stop = asyncio.Event()
        self._ready: asyncio.Future[None] = self._loop.create_future()
        self._task: asyncio.Task[None] | None = None
        self._last_error = "no connection attempt finished yet"

    # --- lifecycle ---------------------------------------------------------------

    async def open(self) -> None:
        """Start, and return once the broker accepted connection and subscriptions."""
        self._task = asyncio.create_task(self._run(), name=f"mqtt {self._config.client_id}")
        cfg = self._config
        try:
            async with asyncio.timeout(cfg.connect_timeout):
                await asyncio.shield(self._ready)
        except TimeoutError:
            await self.close()
            raise MqttConnectError(
                f"no MQTT session with {cfg.host}:{cfg.port} within "
                f"{cfg.connect_timeout:g} s: {self._last_error}"
            ) from None
        except BaseException:
            await self.close()
            raise

    async def close(self) -> None:
        """Send the acks given so far, DISCONNECT (the broker keeps the session), stop."""
        self._closing = True
        if self._connected:
            self._send_acks(self._generation)
            self._client.disconnect()
            self._after_io()
        self._stop.set()
        self._lost.set()
        task, self._task = self._task, None
        if task is not None:
            await task
        if not self._ready.done():
            self._ready.cancel()

    # --- acknowledgements ----------------------------------------------------------

    def ack(self, mid: int, generation: int) -> None:
        """Send the PUBACK of ``mid`` if its connection is still the current one.

        PUBACKs given during one turn of the event loop leave in one write
        (a batch commit acks thousands of messages at once).
        """
        if threading.get_ident() != self._loop_thread:
            self._loop.call_soon_threadsafe(self.ack, mid, generation)
            return
        if self._connected and generation == self._generation:
            if not self._acks:
                self._loop.call_soon(self._send_acks, generation)
            self._acks += _PUBACK + mid.to_bytes(2, "big")

    def _send_acks(self, generation: int) -> None:
        """Hand the PUBACKs gathered since the last turn to paho.

        A call scheduled on an earlier connection does nothing: that
        connection's PUBACKs were dropped when it ended, and what the buffer
        holds now belongs to the new one, which scheduled its own call."""
        if generation != self._generation:
            return
        acks, self._acks = self._acks, bytearray()
        if acks and self._connected:
            self._client.queue_pubacks(bytes(acks))
            self._after_io()

    # --- the connection loop ---------------------------------------------------------

    async def _run(self) -> None:
        try:
            while not self._closing:
                self._generation += 1
                self._acks = bytearray()  # PUBACKs of a lost connection are void
                self._lost.clear()
                if await self._connect():
                    self._watch()
                    await self._serve()
                self._unwatch()
                self._connected = False
                if not self._closing:
                    await self._sleep(
                        backoff_delay(
                            self._attempt, self._config.reconnect_min, self._config.reconnect_max
                        )
                    )
                    self._attempt += 1
        except Exception as exc:  # a bug here must end the stream loudly
            log.exception("MQTT session failed")
            self._fail(MqttConnectError(f"MQTT session failed: {exc!r}"))
        finally:
            self._unwatch()
            sock = self._client.socket()
            if sock is not None:
                sock.close()

    async def _connect(self) -> bool:
        """TCP/TLS connect and CONNECT in the executor (blocking calls); False on failure."""
        cfg = self._config
        first = self._generation == 1
        try:
            await self._loop.run_in_executor(None, self._connect_blocking, first)
        except (OSError, ValueError) as exc:
            self._close_failed_tls_socket()
            self._note_failure(f"cannot connect to {cfg.host}:{cfg.port}: {exc}")
            return False
        return not self._closing

    def _close_failed_tls_socket(self) -> None:
        """Close the socket of a failed TLS handshake, which paho leaves open."""
        context = self._tls_context
        if context is not None and context.last_socket is not None:
            if context.last_socket is not self._client.socket():
                context.last_socket.close()
            context.last_socket = None

    def _connect_blocking(self, first: bool) -> None:
        cfg = self._config
        if not first:
            self._client.reconnect()
        elif cfg.protocol is MqttProtocol.V5:
            props = Properties(PacketTypes.CONNECT)  # type: ignore[no-untyped-call]
            props.SessionExpiryInterval = cfg.session_expiry
            props.ReceiveMaximum = cfg.receive_maximum
            self._client.connect(
                cfg.host, cfg.port, cfg.keepalive, clean_start=False, properties=props
            )
        else:
            self._client.connect(cfg.host, cfg.port, cfg.keepalive)

    async def _serve(self) -> None:
        """Run keepalive bookkeeping until the connection is lost or closing."""
        while not self._lost.is_set():
            try:
                async with asyncio.timeout(_TICK):
                    await self._lost.wait()
            except TimeoutError:
                if self._client.loop_misc() != _OK:
                    return
                self._after_io()
        if self._closing and self._client.socket() is not None:
            await self._await_goodbye()

    async def _await_goodbye(self) -> None:
        loop = self._loop
        deadline = loop.time() + _GOODBYE_WAIT
        while self._client.socket() is not None and self._client.want_write():
            if loop.time() > deadline:
                break
            await asyncio.sleep(0.01)

    async def _sleep(self, seconds: float) -> None:
        """Back-off wait that ``close()`` interrupts."""
        with contextlib.suppress(TimeoutError):
            async with asyncio.timeout(seconds):
                await self._stop.wait()

    # --- socket watching -----------------------------------------------------------

    def _watch(self) -> None:
        self._sock = self._client.socket()
        self.resume()
        self._after_io()

    def _unwatch(self) -> None:
        sock, self._sock = self._sock, None
        if sock is not None:
            if self._reading:
                self._loop.remove_reader(sock)
            if self._writing:
                self._loop.remove_writer(sock)
        self._reading = self._writing = False

    def resume(self) -> None:
        """Watch the socket for reading again (the inbox has room)."""
        if self._sock is not None and not self._reading:
            self._reading = True
            self._loop.add_reader(self._sock, self._on_readable)
            if self._has_buffered():
                self._loop.call_soon(self._on_readable)

    def _pause(self) -> None:
        if self._sock is not None and self._reading:
            self._reading = False
            self._loop.remove_reader(self._sock)

    def _on_readable(self) -> None:
        client = self._client
        inbox = self._inbox
        for _ in range(_READ_BURST):
            if not inbox.has_room():
                self._pause()
                break
            before = self._received
            if client.loop_read() != _OK or self._sock is None:
                return
            if self._received == before:
                break
        if self._reading and self._has_buffered():
            self._loop.call_soon(self._on_readable)  # bytes select() cannot see
        self._after_io()

    def _has_buffered(self) -> bool:
        """Received bytes wait in the client's buffer or in TLS, where select() cannot see them."""
        sock = self._sock
        if sock is None:
            return False
        if self._client.buffered():
            return True
        return isinstance(sock, ssl.SSLSocket) and sock.pending() > 0

    def _after_io(self) -> None:
        """Write what paho has queued; watch for writability while some is left."""
        client = self._client
        sock = self._sock
        if sock is None:
            return
        if client.want_write() and client.loop_write() != _OK:
            return
        wants = client.want_write()
        if wants and not self._writing and self._sock is not None:
            self._writing = True
            self._loop.add_writer(self._sock, self._after_io)
        elif not wants and self._writing and self._sock is not None:
            self._writing = False
            self._loop.remove_writer(self._sock)

    # --- paho callbacks (event loop thread) ----------------------------------------------

    def _make_client(self) -> BufferedClient:
        cfg = self._config
        v5 = cfg.protocol is MqttProtocol.V5
        client = BufferedClient(
            CallbackAPIVersion.VERSION2,
            client_id=cfg.client_id,
            protocol=paho.MQTTv5 if v5 else paho.MQTTv311,
            clean_session=None if v5 else False,
            manual_ack=True,
            deliver=self._on_publish,
        )
        client.connect_timeout = cfg.connect_timeout
        if cfg.username is not None:
            client.username_pw_set(cfg.username, cfg.password)
        if cfg.tls is not None:
            self._tls_context = _set_tls(client, cfg)
        client.on_connect = self._on_connect
        client.on_disconnect = self._on_disconnect
        client.on_subscribe = self._on_subscribe
        client.on_message = self._on_message
        client.on_socket_close = self._on_socket_close
        return client

    def _on_connect(
        self, client: paho.Client, userdata: Any, flags: Any, reason: ReasonCode, props: Any
    ) -> None:
        if reason.is_failure:
            self._note_failure(f"broker refused the connection: {reason}")
            if not self._ready.done():
                self._ready.set_exception(
                    MqttConnectError(f"broker refused the connection: {reason}")
                )
            return
        self._connected = True
        self._last_error = "connected, waiting for the broker to confirm the subscriptions"
        if flags.session_present and not self._ready.done():
            # The broker kept our subscriptions and may send a backlog before the
            # SUBACK, which a full inbox would hold up: do not wait for it.
            self._ready.set_result(None)
        if self._attempt:
            log.info("MQTT connection to %s:%s is back", self._config.host, self._config.port)
        self._attempt = 0
        cfg = self._config
        filters = sorted({subscription_filter(r.topic_filter, cfg.share_group) for r in cfg.routes})
        if cfg.protocol is MqttProtocol.V5:
            client.subscribe([(f, SubscribeOptions(qos=1)) for f in filters])
        else:
            client.subscribe([(f, 1) for f in filters])

    def _on_subscribe(
        self, client: paho.Client, userdata: Any, mid: int, reasons: list[ReasonCode], props: Any
    ) -> None:
        refused = [str(r) for r in reasons if r.is_failure]
        if refused:
            reason = ", ".join(refused)
            self._fail(SubscriptionRefused(f"broker refused the subscription: {reason}"))
        elif not self._ready.done():
            self._ready.set_result(None)

    def _on_disconnect(
        self, client: paho.Client, userdata: Any, flags: Any, reason: ReasonCode, props: Any
    ) -> None:
        if self._connected and not self._closing:
            self._note_failure(f"connection lost: {reason}")
        self._connected = False
        self._lost.set()

    def _on_socket_close(self, client: paho.Client, userdata: Any, sock: Any) -> None:
        if threading.get_ident() == self._loop_thread and sock is self._sock:
            self._unwatch()

    def _on_publish(self, topic: bytes, payload: bytes, mid: int, qos: int) -> None:
        """A PUBLISH, from the client's fast path or from ``_on_message``."""
        try:
            text: str | None = topic.decode()
        except UnicodeDecodeError:
            text = None
        self._received += 1
        self._inbox.put(Incoming(text, payload, mid, qos, self._generation))

    def _on_message(self, client: paho.Client, userdata: Any, message: paho.MQTTMessage) -> None:
        """A PUBLISH that paho read itself (split across reads, or QoS 2)."""
        topic = message._topic  # the raw bytes; .topic would raise on bad UTF-8
        self._on_publish(bytes(topic), bytes(message.payload), message.mid, message.qos)

    # --- helpers -------------------------------------------------------------------------

    @property
    def last_error(self) -> str:
        return self._last_error

    def _fail(self, error: BaseException) -> None:
        self._last_error = str(error)
        self._inbox.fail(error)
        if not self._ready.done():
            self._ready.set_exception(error)

    def _note_failure(self, text: str) -> None:
        """Log a failure loudly the first time, quietly while it repeats."""
        level = logging.WARNING if self._attempt == 0 else logging.DEBUG
        log.log(level, "MQTT %s (client %s); retrying", text, self._config.client_id)
        self._last_error = text


class _TlsContext(ssl.SSLContext):
    """An SSL context that remembers the last socket it wrapped.

    When a TLS handshake fails inside paho 2.2's connect, paho drops the wrapped
    socket without closing it; the session closes it through this reference.
    """

    last_socket: ssl.SSLSocket | None = None

    def wrap_socket(self, *args: Any, **kwargs: Any) -> ssl.SSLSocket:
        wrapped = super().wrap_socket(*args, **kwargs)
        self.last_socket = wrapped
        return wrapped


def _set_tls(client: paho.Client, cfg: MqttConfig) -> _TlsContext:
    tls = cfg.tls
    assert tls is not None
    try:
        context = _TlsContext(ssl.PROTOCOL_TLS_CLIENT)
        if tls.insecure:
            context.check_hostname = False
            context.verify_mode = ssl.CERT_NONE
        elif tls.ca_file is not None:
            context.load_verify_locations(cafile=str(tls.ca_file))
        else:
            context.load_default_certs()
        if tls.cert_file is not None and tls.key_file is not None:
            context.load_cert_chain(str(tls.cert_file), str(tls.key_file))
        client.tls_set_context(context)
        client.tls_insecure_set(tls.insecure)
    except (OSError, ValueError) as exc:
        raise MqttConfigError(f"TLS setup failed: {exc}") from exc
    return context
