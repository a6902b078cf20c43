"""An embedded MQTT broker (amqtt 0.12) on a free 127.0.0.1 port.

``async with EmbeddedBroker() as broker: broker.url`` — for ``make demo``
without ``METERGATE_MQTT_URL`` and for tests on machines without Mosquitto.
amqtt 0.12 speaks MQTT 3.1.1 only (it refuses v5 CONNECTs), has no shared
subscriptions and keeps sessions in memory only (a restart forgets them).

amqtt keeps no session for anonymous clients, so this broker refuses them: a
client must send a user name (any; there is no password check) to get a
persistent session. ``url`` carries the user name ``metergate``.
"""

from __future__ import annotations

import asyncio
import getpass
import logging
import shutil
import socket
import subprocess
import warnings
from pathlib import Path
from types import TracebackType
from typing import Any, Self

_PLUGINS: dict[str, Any] = {
    # Not the default plugin set: it adds the $SYS plugin, which warns
    # (DeprecationWarning about psutil) and publishes noise every 20 s.
    # allow_anonymous=False: any user name passes, and named sessions persist.
    "amqtt.plugins.authentication.AnonymousAuthPlugin": {"allow_anonymous": False},
}


def free_port(host: str = "127.0.0.1") -> int:
    """A TCP port that was free a moment ago (bind to 0, read it, release it)."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as probe:
        probe.bind((host, 0))
        return int(probe.getsockname()[1])


class EmbeddedBroker:
    """amqtt broker as an async context manager; ``host``/``port``/``url`` once entered."""

    protocol = "3.1.1"
    username = "metergate"

    def __init__(self, host: str = "127.0.0.1", port: int | None = None) -> None:
        self.host = host
        self.port = port or 0
        self._broker: Any = None

    @property
    def url(self) -> str:
        return f"mqtt://{self.username}@{self.host}:{self.port}"

    async def __aenter__(self) -> Self:
        logging.getLogger("amqtt").setLevel(logging.WARNING)
        logging.getLogger("transitions").setLevel(logging.WARNING)
        with warnings.catch_warnings():
            # amqtt 0.12 warns about its own deprecated config paths on import
            # and start; none concern the keys used here.
            warnings.filterwarnings("ignore", category=DeprecationWarning, module=r"amqtt(\.|$)")
            from amqtt.broker import Broker  # heavy: import only when used

            for attempt in range(5):
                port = self.port or free_port(self.host)
                config = {
                    "listeners": {"default": {"type": "tcp", "bind": f"{self.host}:{port}"}},
                    "plugins": dict(_PLUGINS),
                }
                broker = Broker(config)
                try:
                    await broker.start()
                except Exception:
                    if self.port or attempt == 4:
                        raise
                    continue  # the free port was taken meanwhile: pick another
                self.port, self._broker = port, broker
                break
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        broker, self._broker = self._broker, None
        if broker is not None:
            await broker.shutdown()


def broker_answers(host: str, port: int, timeout: float = 1.0) -> bool:
    """Whether an MQTT broker answers a CONNECT with a CONNACK."""
    connect = bytes([0x10, 12, 0, 4]) + b"MQTT" + bytes([4, 2, 0, 5, 0, 0])
    try:
        with socket.create_connection((host, port), timeout=timeout) as sock:
            sock.sendall(connect)
            return sock.recv(4)[:1] == b"\x20"
    except OSError:
        return False


class MosquittoProcess:
    """A Mosquitto of our own on a free port (tests, benchmarks): persistence in
    ``directory``, unlimited in-flight and queued messages; ``stop()``/``start()``
    keep the port and the sessions."""

    kind = "mosquitto"
    protocol = "5"
    persistent = True
    username = None

    def __init__(self, directory: Path, extra_config: str) -> None:
        self.host = "127.0.0.1"
        self.port = free_port()
        self._directory = directory
        self._config = directory / "mosquitto.conf"
        self._config.write_text(
            f"listener {self.port} {self.host}\n"
            "allow_anonymous true\n"
            "persistence true\n"
            f"persistence_location {directory}/\n"
            "persistence_file mosquitto.db\n"
            "max_inflight_messages 0\n"
            "max_queued_messages 0\n"
            f"log_dest file {directory}/mosquitto.log\n"
            "log_type error\nlog_type warning\n"
            f"user {getpass.getuser()}\n" + extra_config
        )
        self._process: subprocess.Popen[bytes] | None = None

    @property
    def url(self) -> str:
        return f"mqtt://{self.host}:{self.port}"

    async def start(self) -> None:
        binary = shutil.which("mosquitto")
        if binary is None:
            raise RuntimeError("no mosquitto binary on PATH")
        # The command line is ours: the binary found above and our own config file.
        self._process = subprocess.Popen(  # noqa: S603, ASYNC220 - starting is quick, waiting is async
            [binary, "-c", str(self._config)],
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        for _ in range(100):
            if self._process.poll() is not None:
                log = (self._directory / "mosquitto.log").read_text(errors="replace")
                raise RuntimeError(f"mosquitto exited: {log[-500:]}")
            if broker_answers(self.host, self.port, timeout=0.2):
                return
            await asyncio.sleep(0.05)
        raise RuntimeError(f"mosquitto did not answer on port {self.port}")

    async def stop(self) -> None:
        """Stop gracefully (SIGTERM): Mosquitto writes its persistence file."""
        process, self._process = self._process, None
        if process is not None and process.poll() is None:
            process.terminate()
            await asyncio.to_thread(process.wait, 10)
