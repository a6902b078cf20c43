"""A minimal HTTP endpoint for Prometheus (/metrics) and health checks (/health).

Plain asyncio: two read-only routes do not justify a web framework in the
ingest process.
"""

from __future__ import annotations

import asyncio
import json
from collections.abc import Callable

from prometheus_client import CONTENT_TYPE_LATEST, CollectorRegistry, generate_latest

_REASONS = {200: "OK", 404: "Not Found", 405: "Method Not Allowed", 503: "Service Unavailable"}


async def serve_http(
    host: str,
    port: int,
    registry: CollectorRegistry,
    health: Callable[[], tuple[bool, dict[str, object]]],
) -> asyncio.Server:
    """Start serving; ``health()`` returns (healthy, details)."""

    async def handle(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        try:
            async with asyncio.timeout(5):
                request = await reader.readuntil(b"\r\n\r\n")
        except (TimeoutError, asyncio.IncompleteReadError, asyncio.LimitOverrunError):
            writer.close()
            return
        method, _, rest = request.decode("latin-1").partition(" ")
        path = rest.partition(" ")[0].partition("?")[0]
        if method != "GET":
            status, ctype, body = 405, "text/plain", b"GET only\n"
        elif path == "/metrics":
            status, ctype, body = (
                200,
                CONTENT_TYPE_LATEST,
                await asyncio.to_thread(generate_latest, registry),
            )
        elif path == "/health":
            ok, details = health()
            status, ctype, body = (
                (200 if ok else 503),
                "application/json",
                json.dumps(details).encode(),
            )
        else:
            status, ctype, body = 404, "text/plain", b"not found\n"
        head = (
            f"HTTP/1.1 {status} {_REASONS[status]}\r\nContent-Type: {ctype}\r\n"
            f"Content-Length: {len(body)}\r\nConnection: close\r\n\r\n"
        )
        writer.write(head.encode() + body)
        await writer.drain()
        writer.close()

    return await asyncio.start_server(handle, host, port)
