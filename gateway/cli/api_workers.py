"""Several API worker processes, each with its own listening socket (Linux).

uvicorn's ``--workers`` shares one listening socket between its processes, and
whichever worker's event loop is idle at that moment accepts: in the API
benchmark one worker accepted 27 of 32 keep-alive connections and served them
all while the other sat nearly idle. Here each worker binds its own socket to
the same port with ``SO_REUSEPORT``, and the kernel spreads new connections
over them by address hash.

The parent binds the port first (not listening: it receives no connection),
so a port that is taken fails at once and port 0 resolves to one free port
for every worker. It restarts a worker that dies and stops them all on
SIGINT/SIGTERM; each worker shuts down gracefully (uvicorn's own handling).
"""

from __future__ import annotations

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


def supported() -> bool:
    """Whether the kernel balances connections over ``SO_REUSEPORT`` sockets."""
    return sys.platform.startswith("linux") and hasattr(socket, "SO_REUSEPORT")


def bind(host: str, port: int) -> socket.socket:
    """A TCP socket bound to (host, port) that other such sockets may share."""
    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    sock = socket.socket(family, socket.SOCK_STREAM)
    try:
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEPORT, 1)
        sock.bind((host, port))
    except OSError:
        sock.close()
        raise
    return sock


def _worker(host: str, port: int, app: str) -> None:
    import uvicorn

    sock = bind(host, port)
    sock.listen(2048)
    config = uvicorn.Config(app, factory=True, proxy_headers=True)
    uvicorn.Server(config).run(sockets=[sock])


def run(host: str, port: int, workers: int, app: str) -> None:
    """Serve ``app`` (an app factory's import path) with ``workers`` processes
    until SIGINT/SIGTERM."""
    reserved = bind(host, port)
    port = reserved.getsockname()[1]
    context = multiprocessing.get_context("spawn")
    stop = threading.Event()

    def start(index: int) -> BaseProcess:
        process = context.Process(
            target=_worker, args=(host, port, app), name=f"api-{index}", daemon=False
        )
        process.start()
        return process

    def on_signal(signum: int, _frame: object) -> None:
        stop.set()

    previous = {sig: signal.signal(sig, on_signal) for sig in (signal.SIGINT, signal.SIGTERM)}
    processes = [start(i) for i in range(workers)]
    try:
        while not stop.wait(0.5):
            for i, process in enumerate(processes):
                if not process.is_alive() and not stop.is_set():
                    log.error("API worker %s exited (%s); restarting", i, process.exitcode)
                    stop.wait(_RESTART_DELAY_S)
                    processes[i] = start(i)
    finally:
        for process in processes:
            if process.is_alive():
                process.terminate()  # SIGTERM: uvicorn finishes the requests in flight
        for process in processes:
            process.join(_STOP_TIMEOUT_S)
            if process.is_alive():
                process.kill()
        reserved.close()
        for sig, handler in previous.items():
            signal.signal(sig, handler)
