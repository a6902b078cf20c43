"""``api_http.HeadWithBody``: each response's head leaves in one write with
its body, and the bytes on the wire are uvicorn's own.

uvicorn's real protocol parses real requests here; the transport records
what the protocol writes (one entry per write, or per ``writelines``: one
system call either way), so that the count of writes can be checked. The
last test serves over a real socket.
"""

from __future__ import annotations

import asyncio
from typing import Any

import httpx
import pytest
import uvicorn
from uvicorn.protocols.http.httptools_impl import HttpToolsProtocol
from uvicorn.server import ServerState

from gateway.cli.api_http import HeadWithBody
from simulators.broker import free_port

Event = bytes | str
JSON = b'{"ok":true}'


class Recorder(asyncio.Transport):
    """A connection's transport that records each write and the close."""

    def __init__(self) -> None:
        super().__init__()
        self.events: list[Event] = []
        self.closing = False

    def write(self, data: Any) -> None:
        self.events.append(bytes(data))

    def writelines(self, list_of_data: Any) -> None:
        self.events.append(b"".join(bytes(d) for d in list_of_data))

    def close(self) -> None:
        self.closing = True
        self.events.append("close")

    def is_closing(self) -> bool:
        return self.closing

    def get_extra_info(self, name: str, default: Any = None) -> Any:
        return {"peername": ("127.0.0.1", 50000), "sockname": ("127.0.0.1", 8000)}.get(
            name, default
        )

    def pause_reading(self) -> None:
        pass

    def resume_reading(self) -> None:
        pass


async def json_app(scope: Any, receive: Any, send: Any) -> None:
    headers = [(b"content-type", b"application/json"), (b"content-length", b"%d" % len(JSON))]
    await send({"type": "http.response.start", "status": 200, "headers": headers})
    await send({"type": "http.response.body", "body": JSON})


async def streamed_app(scope: Any, receive: Any, send: Any) -> None:
    await send({"type": "http.response.start", "status": 200, "headers": []})
    for chunk in (b"one,", b"two,"):
        await send({"type": "http.response.body", "body": chunk, "more_body": True})
    await send({"type": "http.response.body", "body": b"three"})


async def echo_app(scope: Any, receive: Any, send: Any) -> None:
    body = b""
    while True:
        message = await receive()
        body += message.get("body", b"")
        if not message.get("more_body"):
            break
    await send({"type": "http.response.start", "status": 200, "headers": []})
    await send({"type": "http.response.body", "body": body})


async def broken_app(scope: Any, receive: Any, send: Any) -> None:
    await send({"type": "http.response.start", "status": 200, "headers": []})
    raise RuntimeError("the app failed after starting its response")


class Connection:
    """One connection of ``protocol`` serving ``app``, fed by hand."""

    def __init__(self, protocol: type[HttpToolsProtocol], app: Any) -> None:
        config = uvicorn.Config(app, http=protocol, lifespan="off", access_log=False)
        config.load()
        self.state = ServerState()
        self.protocol = protocol(config=config, server_state=self.state, app_state={})
        self.transport = Recorder()
        self.protocol.connection_made(self.transport)

    async def feed(self, data: bytes) -> list[Event]:
        """Pass ``data`` to the protocol and let every request it starts run to
        its end (pipelined ones too); the writes so far."""
        self.protocol.data_received(data)
        for _ in range(100):
            await asyncio.sleep(0)
            if self.state.tasks:
                await asyncio.gather(*self.state.tasks, return_exceptions=True)
            elif not self.protocol.pipeline:
                break
        return self.transport.events

    def close(self) -> None:
        self.protocol.connection_lost(None)


async def exchange(protocol: type[HttpToolsProtocol], app: Any, data: bytes) -> list[Event]:
    conn = Connection(protocol, app)
    try:
        return list(await conn.feed(data))
    finally:
        conn.close()


def wire(events: list[Event]) -> bytes:
    return b"".join(e for e in events if isinstance(e, bytes))


GET = b"GET /x HTTP/1.1\r\nHost: t\r\n\r\n"


@pytest.mark.parametrize(
    ("app", "request_bytes"),
    [
        (json_app, GET),
        (json_app, b"HEAD /x HTTP/1.1\r\nHost: t\r\n\r\n"),
        (streamed_app, GET),
        (json_app, GET + GET),  # pipelined
        (json_app, b"GET /x HTTP/1.1\r\nHost: t\r\nConnection: close\r\n\r\n"),
        (echo_app, b"POST /x HTTP/1.1\r\nHost: t\r\nContent-Length: 5\r\n\r\nhello"),
    ],
    ids=["json", "head", "streamed", "pipelined", "connection-close", "post"],
)
async def test_same_bytes_as_uvicorn(app: Any, request_bytes: bytes) -> None:
    theirs = await exchange(HttpToolsProtocol, app, request_bytes)
    ours = await exchange(HeadWithBody, app, request_bytes)
    assert wire(ours) == wire(theirs)
    assert wire(ours).startswith(b"HTTP/1.1 200 OK\r\n")


async def test_head_and_body_in_one_write() -> None:
    theirs = await exchange(HttpToolsProtocol, json_app, GET)
    ours = await exchange(HeadWithBody, json_app, GET)
    assert len(theirs) == 2  # uvicorn's own: head, then body
    assert ours == [wire(theirs)]
    assert ours[0].endswith(b"\r\n\r\n" + JSON)  # type: ignore[union-attr]


async def test_each_pipelined_response_in_one_write() -> None:
    ours = await exchange(HeadWithBody, json_app, GET + GET)
    assert len(ours) == 2
    assert all(isinstance(e, bytes) and e.endswith(JSON) for e in ours)


async def test_head_request_gets_its_head_when_the_response_ends() -> None:
    ours = await exchange(HeadWithBody, json_app, b"HEAD /x HTTP/1.1\r\nHost: t\r\n\r\n")
    assert len(ours) == 1
    assert ours[0].startswith(b"HTTP/1.1 200 OK\r\n")  # type: ignore[union-attr]
    assert ours[0].endswith(b"\r\n\r\n")  # type: ignore[union-attr]


async def test_streamed_head_leaves_with_the_first_chunk() -> None:
    ours = await exchange(HeadWithBody, streamed_app, GET)
    assert len(ours) == 3
    assert b"transfer-encoding: chunked" in ours[0]  # type: ignore[operator]
    assert ours[0].endswith(b"4\r\none,\r\n")  # type: ignore[union-attr]


async def test_written_before_close() -> None:
    ours = await exchange(
        HeadWithBody, json_app, b"GET /x HTTP/1.1\r\nHost: t\r\nConnection: close\r\n\r\n"
    )
    assert ours[-1] == "close"
    assert ours[0].endswith(JSON)  # type: ignore[union-attr]


async def test_head_flushed_when_the_app_fails_after_starting() -> None:
    ours = await exchange(HeadWithBody, broken_app, GET)
    assert ours[0].startswith(b"HTTP/1.1 200 OK\r\n")  # type: ignore[union-attr]
    assert ours[-1] == "close"


async def test_continue_goes_out_alone_before_the_body_is_sent() -> None:
    conn = Connection(HeadWithBody, echo_app)
    try:
        conn.protocol.data_received(
            b"POST /x HTTP/1.1\r\nHost: t\r\nContent-Length: 5\r\nExpect: 100-continue\r\n\r\n"
        )
        for _ in range(20):  # the app waits for the body: its task does not end
            await asyncio.sleep(0)
        assert conn.transport.events == [b"HTTP/1.1 100 Continue\r\n\r\n"]
        events = await conn.feed(b"hello")
        assert len(events) == 2
        assert events[1].endswith(b"\r\n\r\n5\r\nhello\r\n0\r\n\r\n")  # type: ignore[union-attr]
    finally:
        conn.close()


async def test_served_over_a_socket() -> None:
    """Keep-alive requests, a HEAD and a streamed response through a real
    uvicorn server with the protocol."""
    port = free_port()
    config = uvicorn.Config(
        streamed_app, host="127.0.0.1", port=port, http=HeadWithBody, lifespan="off"
    )
    server = uvicorn.Server(config)
    serving = asyncio.create_task(server.serve())
    try:
        for _ in range(200):
            if server.started:
                break
            await asyncio.sleep(0.02)
        async with httpx.AsyncClient(base_url=f"http://127.0.0.1:{port}") as client:
            for _ in range(3):
                response = await client.get("/x")
                assert response.status_code == 200
                assert response.text == "one,two,three"
            head = await client.head("/x")
            assert head.status_code == 200
            assert head.content == b""
    finally:
        server.should_exit = True
        await serving
