"""Notices of changes that make a remembered caller stale (migration 0011).

Triggers on the sessions, users, links, accounts, points, meters and tariff
calendars announce every such change on ``CHANNEL`` when its transaction
commits: ``user:<id>`` (that user's sessions or links changed) or ``*``
(anything else a caller's points hold). A listener connection reads them
with libpq's non-blocking calls, so that an event loop can drain them the
moment its socket is readable (``portal_api.security.callers``).
"""

from __future__ import annotations

from dataclasses import dataclass

import psycopg
from psycopg.rows import TupleRow

CHANNEL = "metergate_callers"

_USER = "user:"
_MARK = "mark:"


@dataclass(frozen=True, slots=True)
class Change:
    """One notice: ``user_id`` is None for a change that concerns everyone;
    ``mark`` is set on a listener's own marker (``mark``), which changes
    nothing."""

    user_id: int | None = None
    mark: str | None = None


def parse(payload: str) -> Change:
    """A notice's payload as a ``Change``; anything unknown concerns everyone
    (forgetting too much is only slower)."""
    if payload.startswith(_USER) and payload[len(_USER) :].isdigit():
        return Change(user_id=int(payload[len(_USER) :]))
    if payload.startswith(_MARK):
        return Change(mark=payload[len(_MARK) :])
    return Change()


async def listen(conn: psycopg.AsyncConnection[TupleRow]) -> None:
    """Subscribe ``conn`` (in autocommit) to the channel."""
    await conn.execute(f"LISTEN {CHANNEL}")


async def mark(conn: psycopg.AsyncConnection[TupleRow], name: str) -> None:
    """Send a marker through the channel. Notices reach a listener in commit
    order, so once it has read this one it has read every change committed
    before it."""
    await conn.execute("SELECT pg_notify(%s, %s)", (CHANNEL, _MARK + name))


def pending(conn: psycopg.AsyncConnection[TupleRow]) -> list[Change]:
    """The notices that have reached ``conn``'s socket, read without waiting.
    Raises ``psycopg.OperationalError`` when the connection is lost."""
    pgconn = conn.pgconn
    pgconn.consume_input()
    changes = []
    while (notice := pgconn.notifies()) is not None:
        if notice.relname.decode(errors="replace") == CHANNEL:
            changes.append(parse(notice.extra.decode(errors="replace")))
    return changes
