"""Throttling login, activation and mail-sending attempts per account and per
client address (sliding window, counted in the store so that every worker
process sees the same numbers).

``guard`` records the attempt and *commits* it before it is evaluated, then
counts it together with the others in the window: under a burst of parallel
attempts at most ``limit`` are evaluated, the rest see each other's rows and
are refused. It uses the request's own connection (a second one per request
would deadlock a busy pool), so call it before the request writes anything.
A refused attempt is not kept: a locked key frees up one window after its
oldest counted attempt (the Retry-After).
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Sequence
from contextlib import asynccontextmanager
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

from ingest.portal import Conn
from ingest.portal import throttle as store
from portal_api.errors import ProblemError


@dataclass(frozen=True, slots=True)
class Limit:
    key: str
    limit: int


@dataclass(frozen=True, slots=True)
class Attempt:
    """An attempt under way: call ``succeeded`` when it worked."""

    conn: Conn
    ids: list[int]

    async def succeeded(self, *, clear: Sequence[str] = ()) -> None:
        """Forget this attempt (it does not count) and clear the ``clear`` keys;
        part of the request's transaction."""
        await store.forget(self.conn, self.ids)
        for key in clear:
            await store.clear(self.conn, key)


@asynccontextmanager
async def guard(conn: Conn, limits: Sequence[Limit], window: timedelta) -> AsyncIterator[Attempt]:
    """Refuse with 429 when any key has used up its limit in ``window``;
    otherwise yield the attempt. Unless ``succeeded`` is called, it counts."""
    keys = [limit.key for limit in limits]
    await store.prune(conn, keys, window)
    ids = await store.record(conn, keys)
    await conn.commit()
    counts = await store.counts(conn, keys, window)
    over = [
        counts[limit.key]
        for limit in limits
        if limit.key in counts and counts[limit.key].count > limit.limit
    ]
    if over:
        await store.forget(conn, ids)
        await conn.commit()
        oldest = min(c.oldest for c in over)
        retry = max(1, int((oldest + window - datetime.now(UTC)).total_seconds()) + 1)
        raise ProblemError(
            429,
            "throttled",
            "Too many attempts",
            "too many attempts; try again later",
            headers={"Retry-After": str(retry)},
            extra={"retry_after_s": retry},
        )
    yield Attempt(conn=conn, ids=ids)
