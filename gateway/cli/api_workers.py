"""Several API worker processes behind one listening socket (Linux).

uvicorn's ``--workers`` lets every worker accept from one shared socket, and
whichever event loop is idle at that moment takes the whole queue: in the API
benchmark one worker held 27 of 32 keep-alive connections while the other sat
nearly idle. One ``SO_REUSEPORT`` socket per worker spreads connections by
address hash, which is random: 32 connections split 13:19 or 9:23 as often as
not, and since the workers share the CPU evenly, the clients of the busier one
waited 1.5–2.7 times as long.

So the parent accepts, and hands each connection to the next worker in turn
over a Unix socket (``SCM_RIGHTS``); the worker adopts it as if it had
accepted it itself. Connections are spread one by one, whatever their timing.
A worker that cannot take one (dead, or its channel full) is skipped. The
parent replaces a worker that dies and stops them all on SIGINT/SIGTERM; each
worker shuts down gracefully (uvicorn's own handling).
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import multiprocessing
import signal
import socket
import sys
import threading
from multiprocessing.process import BaseProcess

log = logging.getLogger(__name__)

_RESTART_DELAY_S = 1.0
_STOP_TIMEOUT_S = 30.0
_ACCEPT_POLL_S = 0.5
_BACKLOG = 2048


def supported() -> bool:
    """Whether connections can be handed to worker processes (Unix sockets with
    ``SCM_RIGHTS``, and the Linux socket options used)."""
    return sys.platform.startswith("linux") and hasattr(socket, "send_fds")


def bind(host: str, port: int) -> socket.socket:
    """A TCP socket bound to (host, port), not yet listening."""
    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    sock = socket.socket(family, socket.SOCK_STREAM)
    try:
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        sock.bind((host, port))
    except OSError:
        sock.close()
        raise
    return sock


def _worker(channel: socket.socket, app: str, access_log: bool) -> None:
    import uvicorn

    class HandedServer(uvicorn.Server):
        """A uvicorn server with no listening socket of its own: it serves the
        connections that arrive on ``channel``."""

        def __init__(self, config: uvicorn.Config) -> None:
            super().__init__(config)
            self._adopting: set[asyncio.Task[object]] = set()

        async def startup(self, sockets: list[socket.socket] | None = None) -> None:
            await super().startup(sockets=[])  # the app's lifespan; no listener
            channel.setblocking(False)
            asyncio.get_running_loop().add_reader(channel.fileno(), self._receive)

        async def shutdown(self, sockets: list[socket.socket] | None = None) -> None:
            with contextlib.suppress(ValueError, OSError):
                asyncio.get_running_loop().remove_reader(channel.fileno())
            await super().shutdown(sockets=sockets)

        def _protocol(self) -> asyncio.Protocol:
            # What uvicorn's own listener builds for each accepted connection.
            protocol: asyncio.Protocol = self.config.http_protocol_class(  # type: ignore[call-arg]
                config=self.config, server_state=self.server_state, app_state=self.lifespan.state
            )
            return protocol

        def _receive(self) -> None:
            loop = asyncio.get_running_loop()
            while True:
                try:
                    message, fds, _, _ = socket.recv_fds(channel, 1, 16)
                except BlockingIOError:
                    return
                except OSError:
                    message, fds = b"", []
                if not message and not fds:  # the parent is gone: stop serving
                    loop.remove_reader(channel.fileno())
                    self.should_exit = True
                    return
                for fd in fds:
                    conn = socket.socket(fileno=fd)
                    if self.should_exit:
                        conn.close()
                        continue
                    task = loop.create_task(self._adopt(conn))
                    self._adopting.add(task)
                    task.add_done_callback(self._adopting.discard)

        async def _adopt(self, conn: socket.socket) -> None:
            try:
                await asyncio.get_running_loop().connect_accepted_socket(self._protocol, conn)
            except OSError:  # the client left before the worker took the connection
                conn.close()

    from gateway.cli.api_http import HeadWithBody

    config = uvicorn.Config(
        app, factory=True, http=HeadWithBody, proxy_headers=True, access_log=access_log
    )
    HandedServer(config).run()


class _Workers:
    """The worker processes and the parent's end of each one's channel."""

    def __init__(self, count: int, app: str, access_log: bool) -> None:
        self._app = app
        self._access_log = access_log
        self._context = multiprocessing.get_context("spawn")
        self._lock = threading.Lock()
        self._next = 0
        self.processes: list[BaseProcess] = []
        self._channels: list[socket.socket] = []
        for index in range(count):
            process, channel = self._start(index)
            self.processes.append(process)
            self._channels.append(channel)

    def _start(self, index: int) -> tuple[BaseProcess, socket.socket]:
        ours, theirs = socket.socketpair(socket.AF_UNIX, socket.SOCK_SEQPACKET)
        process = self._context.Process(
            target=_worker,
            args=(theirs, self._app, self._access_log),
            name=f"api-{index}",
            daemon=False,
        )
        process.start()
        theirs.close()  # the child has its own copy
        ours.setblocking(False)
        return process, ours

    def restart(self, index: int) -> None:
        process, channel = self._start(index)
        with self._lock:
            old = self._channels[index]
            self.processes[index], self._channels[index] = process, channel
        old.close()

    def hand_over(self, conn: socket.socket) -> bool:
        """Pass ``conn`` to the next worker that takes it; False when none does."""
        with self._lock:
            count = len(self._channels)
            for step in range(count):
                index = (self._next + step) % count
                try:
                    socket.send_fds(self._channels[index], [b"c"], [conn.fileno()])
                except OSError:  # dead, restarting, or its channel is full
                    continue
                self._next = (index + 1) % count
                return True
        return False

    def stop(self) -> None:
        for process in self.processes:
            if process.is_alive():
                process.terminate()  # SIGTERM: uvicorn finishes the requests in flight
        for process in self.processes:
            process.join(_STOP_TIMEOUT_S)
            if process.is_alive():
                process.kill()
        with self._lock:
            for channel in self._channels:
                channel.close()


def _accept(listener: socket.socket, workers: _Workers, stop: threading.Event) -> None:
    listener.settimeout(_ACCEPT_POLL_S)
    while not stop.is_set():
        try:
            conn, _ = listener.accept()
        except TimeoutError:
            continue
        except OSError:
            if stop.is_set():
                return
            log.exception("accepting a connection failed")
            stop.wait(0.1)
            continue
        with conn:
            conn.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
            if not workers.hand_over(conn):
                log.warning("no API worker could take a connection; it was closed")


def run(host: str, port: int, workers: int, app: str, *, access_log: bool = True) -> None:
    """Serve ``app`` (an app factory's import path) with ``workers`` processes
    until SIGINT/SIGTERM; ``access_log`` as uvicorn's option."""
    listener = bind(host, port)
    listener.listen(_BACKLOG)
    stop = threading.Event()

    def on_signal(signum: int, _frame: object) -> None:
        stop.set()

    previous = {sig: signal.signal(sig, on_signal) for sig in (signal.SIGINT, signal.SIGTERM)}
    pool = _Workers(workers, app, access_log)
    acceptor = threading.Thread(target=_accept, args=(listener, pool, stop), name="api-accept")
    acceptor.start()
    try:
        while not stop.wait(0.5):
            for i, process in enumerate(pool.processes):
                if not process.is_alive() and not stop.is_set():
                    log.error("API worker %s exited (%s); restarting", i, process.exitcode)
                    stop.wait(_RESTART_DELAY_S)
                    pool.restart(i)
    finally:
        stop.set()
        acceptor.join()
        listener.close()  # refuse new connections before the workers wind down
        pool.stop()
        for sig, handler in previous.items():
            signal.signal(sig, handler)
