"""uvicorn's HTTP/1.1 protocol (httptools), writing each response's head
together with its body.

uvicorn writes a response's status line and headers when the app starts the
response, and the body when it comes: two ``send`` calls, two TCP segments
(Nagle is off), and the client wakes up for each. On the benchmark the head's
write alone took ~8 % of a worker's time with the GIL held, mostly the
kernel handing the bytes to the waiting client; head and body in one write
took ~5.5 %, and the load generator's CPU per request fell 12–15 %
(docs/portal.md has the figures).

``HeadWithBody`` holds the head until the response's first body write, or
until the response ends (HEAD, 204 and 304 carry no body) or the connection
is closed. Everything else goes out as before: an interim ``100 Continue``,
the later chunks of a streamed response, and all of the connection once it
is handed to another protocol (an upgrade). A streamed response's head thus
leaves with its first chunk.
"""

from __future__ import annotations

import asyncio
from collections.abc import Iterable
from typing import Any

from uvicorn.protocols.http.httptools_impl import HttpToolsProtocol

_INTERIM = b"HTTP/1.1 1"
"""How an interim (1xx) response starts; the client waits for it, so it is
never held."""


class HeldHead(asyncio.Transport):
    """A connection's transport that holds the first write of each response
    (uvicorn's head) until the next write, ``flush`` or ``close``."""

    def __init__(self, transport: asyncio.Transport) -> None:
        super().__init__()
        self._transport = transport
        self._held: bytes | None = None
        self._at_head = True
        """The next write starts a response."""
        self._handed_over = False

    def write(self, data: bytes | bytearray | memoryview) -> None:
        if self._held is not None:
            held, self._held = self._held, None
            self._transport.writelines((held, data))
        elif self._at_head and not self._handed_over and data[:10] != _INTERIM:
            self._at_head = False
            self._held = bytes(data)
        else:
            self._transport.write(data)

    def writelines(self, list_of_data: Iterable[bytes | bytearray | memoryview]) -> None:
        for data in list_of_data:
            self.write(data)

    def flush(self) -> None:
        """The response has ended: write what is held; the next write is a
        response's head."""
        if self._held is not None:
            held, self._held = self._held, None
            self._transport.write(held)
        self._at_head = True

    def close(self) -> None:
        self.flush()
        self._transport.close()

    def write_eof(self) -> None:
        self.flush()
        self._transport.write_eof()

    def abort(self) -> None:
        self._held = None
        self._transport.abort()

    def set_protocol(self, protocol: asyncio.BaseProtocol) -> None:
        """An upgrade: from here on the other protocol owns the bytes."""
        self.flush()
        self._handed_over = True
        self._transport.set_protocol(protocol)

    def get_protocol(self) -> asyncio.BaseProtocol:
        return self._transport.get_protocol()

    def is_closing(self) -> bool:
        return self._transport.is_closing()

    def get_extra_info(self, name: str, default: Any = None) -> Any:
        return self._transport.get_extra_info(name, default)

    def can_write_eof(self) -> bool:
        return self._transport.can_write_eof()

    def is_reading(self) -> bool:
        return self._transport.is_reading()

    def pause_reading(self) -> None:
        self._transport.pause_reading()

    def resume_reading(self) -> None:
        self._transport.resume_reading()

    def get_write_buffer_size(self) -> int:
        return self._transport.get_write_buffer_size()

    def get_write_buffer_limits(self) -> tuple[int, int]:
        return self._transport.get_write_buffer_limits()

    def set_write_buffer_limits(self, high: int | None = None, low: int | None = None) -> None:
        self._transport.set_write_buffer_limits(high, low)


class HeadWithBody(HttpToolsProtocol):
    """uvicorn's httptools protocol over a ``HeldHead`` transport (pass the
    class as uvicorn's ``http``)."""

    def connection_made(self, transport: asyncio.Transport) -> None:  # type: ignore[override]
        super().connection_made(transport)
        self._held_head = HeldHead(transport)
        self.transport = self._held_head  # what each request's cycle writes to

    def on_response_complete(self) -> None:
        self._held_head.flush()
        super().on_response_complete()
