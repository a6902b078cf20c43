"""An SMTP server in process (aiosmtpd) for the demo and the tests.

It keeps every message it receives and, for the demo, prints it, so the
registration links can be followed without a real mail system.
"""

from __future__ import annotations

import email
import email.policy
import re
import socket
import threading
from collections.abc import Callable
from dataclasses import dataclass
from email.message import EmailMessage
from typing import Any

from aiosmtpd.controller import Controller

TOKEN = re.compile(r"#token=([A-Za-z0-9_\-]+)")


@dataclass(frozen=True, slots=True)
class Received:
    to: tuple[str, ...]
    subject: str
    body: str

    def token(self) -> str:
        """The token of the (first) link in the message."""
        match = TOKEN.search(self.body)
        if match is None:
            raise LookupError(f"no link in the message {self.subject!r}")
        return match.group(1)


class _Handler:
    def __init__(self, sink: Callable[[Received], None]) -> None:
        self._sink = sink

    async def handle_DATA(self, server: Any, session: Any, envelope: Any) -> str:
        parsed = email.message_from_bytes(envelope.content, policy=email.policy.default)
        assert isinstance(parsed, EmailMessage)
        part = parsed.get_body(("plain",))
        body = part.get_content() if part is not None else ""
        self._sink(Received(to=tuple(envelope.rcpt_tos), subject=str(parsed["Subject"]), body=body))
        return "250 OK"


class DevMailServer:
    """``with DevMailServer() as mail:`` serves SMTP on ``mail.port`` (a free port
    unless given) and collects messages in ``mail.messages``."""

    def __init__(self, host: str = "127.0.0.1", port: int = 0, *, echo: bool = False) -> None:
        self.host = host
        self.port = port or _free_port(host)
        self.echo = echo
        self.messages: list[Received] = []
        self._lock = threading.Lock()
        self._controller = Controller(_Handler(self._receive), hostname=host, port=self.port)

    def _receive(self, message: Received) -> None:
        with self._lock:
            self.messages.append(message)
        if self.echo:
            print(f"--- mail to {', '.join(message.to)}: {message.subject}\n{message.body}\n---")

    def to(self, address: str) -> list[Received]:
        """Messages sent to ``address``, oldest first."""
        with self._lock:
            return [m for m in self.messages if address.lower() in (t.lower() for t in m.to)]

    def last_to(self, address: str) -> Received:
        received = self.to(address)
        if not received:
            raise LookupError(f"no mail to {address}")
        return received[-1]

    def clear(self) -> None:
        with self._lock:
            self.messages.clear()

    def __enter__(self) -> DevMailServer:
        self._controller.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._controller.stop()


def _free_port(host: str) -> int:
    with socket.socket() as s:
        s.bind((host, 0))
        port: int = s.getsockname()[1]
        return port
