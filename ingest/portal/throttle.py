"""Attempt log for throttling, a sliding window per key.

An attempt is recorded *before* it is evaluated and counted together with the
others in the window, so concurrent attempts see each other: at most ``limit``
get through, however many arrive at once. A successful attempt removes its own
rows (and may clear a key); a failed one leaves them to count.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta

from ingest.portal._sql import Conn, many, run


@dataclass(frozen=True, slots=True, kw_only=True)
class KeyCount:
    key: str
    count: int
    oldest: datetime
    """The oldest attempt still in the window: the key frees up a window after it."""


@dataclass(frozen=True, slots=True)
class _Id:
    id: int


async def record(conn: Conn, keys: Sequence[str]) -> list[int]:
    """Log one attempt under each key; return the new rows' ids."""
    rows = await many(
        conn,
        _Id,
        "INSERT INTO throttle_events (key) SELECT unnest(%s::text[]) RETURNING id",
        (list(keys),),
    )
    return [r.id for r in rows]


async def counts(conn: Conn, keys: Sequence[str], window: timedelta) -> dict[str, KeyCount]:
    """Attempts per key in the last ``window`` (keys without any are absent)."""
    rows = await many(
        conn,
        KeyCount,
        """SELECT key, count(*)::int AS count, min(at) AS oldest FROM throttle_events
           WHERE key = ANY(%s) AND at > clock_timestamp() - %s
           GROUP BY key""",
        (list(keys), window),
    )
    return {r.key: r for r in rows}


async def forget(conn: Conn, ids: Sequence[int]) -> None:
    """Remove attempts (a success, or an attempt refused before it was evaluated)."""
    await run(conn, "DELETE FROM throttle_events WHERE id = ANY(%s)", (list(ids),))


async def clear(conn: Conn, key: str) -> None:
    """Forget every attempt under ``key`` (e.g. an account's failures after a success)."""
    await run(conn, "DELETE FROM throttle_events WHERE key = %s", (key,))


async def prune(conn: Conn, keys: Sequence[str], older_than: timedelta) -> None:
    """Drop attempts of these keys that left the longest window."""
    await run(
        conn,
        "DELETE FROM throttle_events WHERE key = ANY(%s) AND at <= clock_timestamp() - %s",
        (list(keys), older_than),
    )
