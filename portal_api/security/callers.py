"""Callers of point-scoped reads, remembered for a few seconds in each process.

Every consumption, history or summary page starts with one statement that
finds the caller's session and the points of the account in the path
(``deps.AccountCaller``): in the API benchmark, half of the database's work
for a page and one of its two round trips. A GET or HEAD with the same token
for the same account within ``caller_cache_s`` takes the answer from here.

What keeps a remembered caller true: triggers announce every change to
sessions, users, their links and what a point holds on a PostgreSQL channel
when it commits (``ingest.portal.changes``), and each API process listens.
A notice is applied as soon as it reaches the listener's socket: the event
loop reads it when the socket becomes readable, and every ``get`` reads
what has arrived first. (PostgreSQL sends it just after the commit: a read
that reaches a process before the notice is still answered from memory.)
While the listener is down nothing is remembered, nor until a marker sent
through the store has come back through it (every ``HEARTBEAT_S``). A lookup
that was under way when a notice arrived is not remembered either (it may
have read the rows before the change).

An entry lives a random 50-100 % of ``keep_s`` (``SPREAD``), and never
outlives its session: it ends at the session's expiry, and ``keep_s`` is at
most the idle timeout less ``TOUCH_EVERY`` (a hit does not refresh
``last_used_at``, which a lookup leaves at most that old). It ends at the
next Kyiv midnight too, when the points' tariff zone names may change. Only
successful lookups are remembered: a new session or a new link is seen at
once.
"""

from __future__ import annotations

import asyncio
import itertools
import logging
import random
import time
from collections.abc import AsyncIterator, Hashable
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Generic, TypeVar

import psycopg
from psycopg.rows import TupleRow
from psycopg_pool import AsyncConnectionPool

from drivers.domain import KYIV
from ingest.portal import changes
from ingest.portal.changes import Change
from ingest.portal.sessions import TOUCH_EVERY

log = logging.getLogger(__name__)

T = TypeVar("T")

SPREAD = 0.5
"""An entry lives a random 50-100 % of ``keep_s``: entries made together (after
a start, or after a notice for everyone) then do not all end together, each
sending its caller back to the database in the same second."""

HEARTBEAT_S = 5.0
"""How often a marker is sent through the store to check the listener."""
HEARTBEAT_WITHIN_S = 2.0
"""A marker that has not come back by then: the listener is not trusted."""

RETRY_S = (0.5, 30.0)
"""The listener reconnects after this long at first, doubling up to the second."""


@dataclass(slots=True)
class _Entry(Generic[T]):
    value: T
    user_id: int
    until: float
    """``time.monotonic()`` deadline."""


class Callers(Generic[T]):
    """Lookups remembered per key, while a listener keeps them true."""

    def __init__(self, *, keep_s: float, size: int, idle: timedelta) -> None:
        self.keep_s = min(keep_s, (idle - TOUCH_EVERY).total_seconds())
        self.size = size
        self._entries: dict[Hashable, _Entry[T]] = {}
        self._by_user: dict[int, set[Hashable]] = {}
        self._generation = 0
        self._listener: psycopg.AsyncConnection[TupleRow] | None = None
        self._heard = False
        self._lost: asyncio.Future[None] | None = None
        self._marks: dict[str, asyncio.Future[None]] = {}
        self._mark_names = itertools.count()

    @property
    def live(self) -> bool:
        """Whether a listener stands and a marker came back through it, and so
        whether anything is remembered."""
        return self._listener is not None and self._heard and self.keep_s > 0

    def __len__(self) -> int:
        return len(self._entries)

    def get(self, key: Hashable) -> T | None:
        """The remembered value of ``key``, None when there is none (or it ended)."""
        self.drain()
        entry = self._entries.get(key)
        if entry is None:
            return None
        if entry.until <= time.monotonic():
            self._forget(key)
            return None
        return entry.value

    def since(self) -> int:
        """Call before a lookup; pass the result to ``put`` with its answer."""
        self.drain()
        return self._generation

    def put(
        self, key: Hashable, value: T, *, user_id: int, expires_at: datetime, since: int
    ) -> None:
        """Remember a lookup's answer, unless a notice arrived since it began
        (or nothing can be remembered now)."""
        self.drain()
        if not self.live or since != self._generation:
            return
        now = datetime.now(UTC)
        left = min(
            self.keep_s * random.uniform(1 - SPREAD, 1),
            (expires_at - now).total_seconds(),
            (_next_kyiv_midnight(now) - now).total_seconds(),
        )
        if left <= 0:
            return
        self._forget(key)
        while len(self._entries) >= self.size:
            self._forget(next(iter(self._entries)))  # the oldest
        self._entries[key] = _Entry(value, user_id, time.monotonic() + left)
        self._by_user.setdefault(user_id, set()).add(key)

    def drain(self) -> None:
        """Apply the notices that have reached the listener's socket."""
        if self._listener is None:
            return
        try:
            arrived = changes.pending(self._listener)
        except psycopg.Error as exc:
            log.warning("caller notices lost (%s); remembering nothing until back", exc)
            self._detach()
            return
        for change in arrived:
            self._apply(change)

    async def settle(self, conn: psycopg.AsyncConnection[TupleRow], within: float = 10) -> None:
        """Return once every change committed before this call is applied: a
        marker sent on ``conn`` came back through the listener (notices
        arrive in commit order); ``TimeoutError`` if not ``within`` seconds.
        The listener's heartbeat, and tests that write behind the API's back
        and then read through it at once."""
        if self._listener is None:
            return
        name = str(next(self._mark_names))
        back = self._marks[name] = asyncio.get_running_loop().create_future()
        try:
            await changes.mark(conn, name)
            # Not asyncio.wait_for: on Python 3.11 it returns a result that
            # arrives with a cancellation and drops the cancellation (the
            # app's shutdown then waited for the listener for ever).
            async with asyncio.timeout(within):
                await back
        finally:
            self._marks.pop(name, None)

    def _apply(self, change: Change) -> None:
        if change.mark is not None:
            if (back := self._marks.pop(change.mark, None)) is not None and not back.done():
                back.set_result(None)
            return
        self._generation += 1
        if change.user_id is None:
            self._clear()
        else:
            for key in list(self._by_user.get(change.user_id, ())):
                self._forget(key)

    def _forget(self, key: Hashable) -> None:
        entry = self._entries.pop(key, None)
        if entry is not None:
            keys = self._by_user[entry.user_id]
            keys.discard(key)
            if not keys:
                del self._by_user[entry.user_id]

    def _clear(self) -> None:
        self._entries.clear()
        self._by_user.clear()

    def _attach(self, listener: psycopg.AsyncConnection[TupleRow]) -> asyncio.Future[None]:
        """A listener now stands (subscribed): anything known before it may
        have missed notices. The future ends when it is lost."""
        self._generation += 1
        self._clear()
        self._listener = listener
        self._heard = False
        self._lost = asyncio.get_running_loop().create_future()
        return self._lost

    def _detach(self) -> None:
        self._generation += 1
        self._clear()
        self._listener = None
        self._heard = False
        if self._lost is not None and not self._lost.done():
            self._lost.set_result(None)
        for back in self._marks.values():
            if not back.done():
                back.set_result(None)


def _next_kyiv_midnight(now: datetime) -> datetime:
    day = now.astimezone(KYIV).date() + timedelta(days=1)
    return datetime(day.year, day.month, day.day, tzinfo=KYIV)


async def follow(callers: Callers[T], conninfo: str, pool: AsyncConnectionPool) -> None:
    """Keep a listener for ``callers`` until cancelled: connect, subscribe,
    drain notices whenever the socket is readable, and check it with a
    marker sent through ``pool`` every ``HEARTBEAT_S``; when the connection
    is lost or a marker does not come back, reconnect after a growing pause
    with jitter (logged once loudly, then quietly until it is back)."""
    loop = asyncio.get_running_loop()
    pause, failures = RETRY_S[0], 0
    while True:
        try:
            async with await psycopg.AsyncConnection.connect(
                conninfo,
                autocommit=True,
                application_name="metergate-api-callers",
                keepalives=1,
                keepalives_idle=10,
                keepalives_interval=5,
                keepalives_count=3,
            ) as conn:
                await changes.listen(conn)
                lost = callers._attach(conn)
                fd = conn.fileno()
                loop.add_reader(fd, callers.drain)
                try:
                    async for _ in _heartbeats(callers, pool, lost):
                        if failures:
                            log.warning("caller notices back after %d failed attempts", failures)
                        pause, failures = RETRY_S[0], 0
                finally:
                    loop.remove_reader(fd)
                    callers._detach()
        except (psycopg.Error, TimeoutError) as exc:
            failures += 1
            level = logging.WARNING if failures == 1 else logging.DEBUG
            log.log(level, "caller notices unheard (%r); remembering nothing, retrying", exc)
        await asyncio.sleep(pause * random.uniform(0.5, 1.5))
        pause = min(pause * 2, RETRY_S[1])


async def _heartbeats(
    callers: Callers[T], pool: AsyncConnectionPool, lost: asyncio.Future[None]
) -> AsyncIterator[None]:
    """Trust the listener while the markers sent through the store come back
    through it: one beat per marker back, every ``HEARTBEAT_S``, until the
    listener is lost; ``TimeoutError`` when a marker does not come back. (A
    connection that dropped without a word, or a pooler in between that does
    not pass notices on, would otherwise leave callers remembered while their
    changes go unheard.)"""
    while not lost.done():
        async with pool.connection() as conn:
            await callers.settle(conn, within=HEARTBEAT_WITHIN_S)
        if lost.done():
            return
        callers._heard = True
        yield
        await asyncio.wait([lost], timeout=HEARTBEAT_S)
