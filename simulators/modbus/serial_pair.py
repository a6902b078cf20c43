"""A virtual null-modem cable: two pseudo-terminals joined back to back (POSIX only).

Lets a serial-port server and a serial-port client talk RTU without hardware or
extra system packages (``socat``): each end gets a ``/dev/pts/N`` path, and the
event loop copies bytes between the two master sides.
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import tty
from types import TracebackType
from typing import Self


class SerialPair:
    """``async with SerialPair() as pair:`` -> ``pair.a`` and ``pair.b`` are joined serial ports."""

    def __init__(self) -> None:
        self._fds: list[int] = []
        self._masters: tuple[int, int] | None = None
        self.a = ""
        self.b = ""

    async def __aenter__(self) -> Self:
        loop = asyncio.get_running_loop()
        master_a, slave_a = os.openpty()
        master_b, slave_b = os.openpty()
        self._fds = [master_a, slave_a, master_b, slave_b]
        for fd in (slave_a, slave_b):
            tty.setraw(fd)  # no echo, no line editing: bytes pass untouched
        self.a, self.b = os.ttyname(slave_a), os.ttyname(slave_b)
        self._masters = (master_a, master_b)
        loop.add_reader(master_a, self._pump, master_a, master_b)
        loop.add_reader(master_b, self._pump, master_b, master_a)
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        loop = asyncio.get_running_loop()
        if self._masters is not None:
            for fd in self._masters:
                loop.remove_reader(fd)
            self._masters = None
        for fd in self._fds:
            with contextlib.suppress(OSError):
                os.close(fd)
        self._fds = []

    @staticmethod
    def _pump(source: int, target: int) -> None:
        with contextlib.suppress(OSError):
            os.write(target, os.read(source, 4096))
