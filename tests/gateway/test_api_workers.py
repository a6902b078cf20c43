"""``metergate api --workers N``: the parent accepts and hands connections to
the workers in turn.

Connections are spread evenly; a dead worker is skipped, then replaced;
SIGTERM stops them all. Checked from outside, as an operator would: which
process holds each accepted connection is read from /proc.
"""

from __future__ import annotations

import contextlib
import os
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from gateway.cli import api_workers
from simulators.broker import free_port
from tests.fixtures.procfs import socket_inodes

pytestmark = pytest.mark.skipif(
    not api_workers.supported(), reason="handing connections to workers is Linux only"
)


def children(pid: int) -> list[int]:
    """The API worker processes of ``pid`` (not multiprocessing's resource tracker)."""
    found = []
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            try:
                stat = (entry / "stat").read_text()
            except OSError:
                continue
            if int(stat.rsplit(")", 1)[1].split()[1]) != pid:
                continue
            with contextlib.suppress(OSError):
                if b"spawn_main" in (entry / "cmdline").read_bytes():
                    found.append(int(entry.name))
    return found


def accepted_sockets(port: int) -> set[str]:
    """Inodes of established TCP sockets whose local port is ``port``."""
    inodes = set()
    for table in ("/proc/net/tcp", "/proc/net/tcp6"):
        for line in Path(table).read_text().splitlines()[1:]:
            fields = line.split()
            local_port = int(fields[1].rsplit(":", 1)[1], 16)
            if local_port == port and fields[3] == "01":  # ESTABLISHED
                inodes.add(fields[9])
    return inodes


def held_by(pid: int, inodes: set[str]) -> int:
    return len(socket_inodes(pid) & inodes)


def connect(port: int) -> socket.socket:
    return socket.create_connection(("127.0.0.1", port), timeout=10)


def ask(sock: socket.socket) -> None:
    """One request on an open keep-alive connection."""
    sock.sendall(b"GET /api/v1/services HTTP/1.1\r\nHost: t\r\n\r\n")
    head = sock.recv(65536)
    assert head.startswith(b"HTTP/1.1 200"), head[:200]


@pytest.fixture
def api(fresh_db: str, tmp_path: Path) -> Iterator[tuple[subprocess.Popen[bytes], int]]:
    port = free_port()
    env = os.environ | {"METERGATE_DATABASE_URL": fresh_db, "METERGATE_DATA_DIR": str(tmp_path)}
    process = subprocess.Popen(
        [sys.executable, "-m", "gateway.cli", "api", "--workers", "2", "--port", str(port)],
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    try:
        wait_until_served(port, len_children=2, parent=process.pid)
        yield process, port
    finally:
        if process.poll() is None:
            process.kill()
            process.wait(10)
        for pid in children(process.pid):
            os.kill(pid, signal.SIGKILL)


def wait_until_served(port: int, *, len_children: int, parent: int) -> None:
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        try:
            ok = httpx.get(f"http://127.0.0.1:{port}/api/v1/services", timeout=2).status_code
        except httpx.TransportError:
            ok = 0
        if ok == 200 and len(children(parent)) >= len_children:
            # every worker must be listening before connections are counted
            time.sleep(1.0)
            return
        time.sleep(0.2)
    raise AssertionError("the API workers did not start")


def wait_until_reaped(pid: int) -> None:
    """Until ``pid`` is gone from /proc: reaped by the API parent, which it is
    only once every thread has exited and with them its open files. (The main
    thread shows as a zombie earlier, while other threads still hold them.)"""
    deadline = time.monotonic() + 10
    while time.monotonic() < deadline:
        if not Path(f"/proc/{pid}").exists():
            return
        time.sleep(0.02)
    raise AssertionError(f"process {pid} was not reaped")


def test_connections_spread_over_the_workers(api: tuple[subprocess.Popen[bytes], int]) -> None:
    process, port = api
    # All connections first, as a client pool opens them: with one shared
    # listening socket, the worker that wakes first accepts the whole queue.
    sockets = [connect(port) for _ in range(40)]
    for sock in sockets:
        ask(sock)
    inodes = accepted_sockets(port)
    per_worker = [held_by(pid, inodes) for pid in children(process.pid)]
    for sock in sockets:
        sock.close()
    assert sum(per_worker) == len(sockets) == 40
    # In turn, so exactly even. uvicorn's shared socket gave 36:4 here, and one
    # SO_REUSEPORT socket per worker anything from 20:20 to 9:31 (address hash).
    assert per_worker == [20, 20]


def test_a_dead_worker_is_replaced_and_sigterm_stops_all(
    api: tuple[subprocess.Popen[bytes], int],
) -> None:
    process, port = api
    first = children(process.pid)
    os.kill(first[0], signal.SIGKILL)
    wait_until_reaped(first[0])
    # Until it is replaced, the living worker takes every new connection.
    for _ in range(4):
        with connect(port) as sock:
            ask(sock)
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        now = children(process.pid)
        if len(now) == 2 and first[0] not in now:
            break
        time.sleep(0.2)
    else:
        raise AssertionError(f"worker {first[0]} was not replaced")
    wait_until_served(port, len_children=2, parent=process.pid)
    with connect(port) as sock:
        ask(sock)
    process.send_signal(signal.SIGTERM)
    assert process.wait(40) == 0
    assert children(process.pid) == []
    with pytest.raises(ConnectionRefusedError):
        socket.create_connection(("127.0.0.1", port), timeout=2)


def test_a_taken_port_fails_at_once() -> None:
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = taken.getsockname()[1]
        with pytest.raises(OSError, match="in use"):
            api_workers.bind("127.0.0.1", port)
