"""Opaque server-side sessions. The store keeps the SHA-256 of the token only.

A session ends at its absolute expiry or after ``idle`` without use, whichever
comes first. Using a session moves ``last_used_at`` to now, but only when the
stored value is at least ``TOUCH_EVERY`` old: one write a minute per session
at most, not one per request.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Literal

from ingest.portal._sql import Conn, one, run
from ingest.portal.users import Role

Kind = Literal["cookie", "bearer"]


@dataclass(frozen=True, slots=True, kw_only=True)
class SessionUser:
    """A live session and the user it belongs to."""

    session_id: int
    user_id: int
    email: str
    role: Role
    kind: Kind
    csrf_token: str | None
    expires_at: datetime


async def create(
    conn: Conn,
    *,
    user_id: int,
    token_hash: bytes,
    kind: Kind,
    csrf_token: str | None,
    expires_at: datetime,
) -> int:
    row = await one(
        conn,
        _Id,
        """INSERT INTO sessions (token_hash, user_id, kind, csrf_token, expires_at)
           VALUES (%s, %s, %s, %s, %s) RETURNING id""",
        (token_hash, user_id, kind, csrf_token, expires_at),
    )
    assert row is not None
    return row.id


TOUCH_EVERY = timedelta(minutes=1)
"""The most often ``last_used_at`` is written for one session."""

# Find the session, end it if it expired or sat idle for longer than
# %(idle)s, else refresh its last use when that is stale; a query that starts
# with these reads the live session from ``found`` (``WHERE NOT ended``).
LOOKUP = """
WITH found AS (
    SELECT s.id AS session_id, u.id AS user_id, u.email, u.role, s.kind, s.csrf_token,
           s.expires_at, s.last_used_at,
           s.expires_at <= now() OR s.last_used_at < now() - %(idle)s AS ended
    FROM sessions s JOIN users u ON u.id = s.user_id
    WHERE s.token_hash = %(token_hash)s AND s.kind = %(kind)s AND u.disabled_at IS NULL
),
deleted AS (
    DELETE FROM sessions WHERE id IN (SELECT session_id FROM found WHERE ended)
),
touched AS (
    UPDATE sessions SET last_used_at = now()
    WHERE id IN (SELECT session_id FROM found
                 WHERE NOT ended AND last_used_at <= now() - %(touch_every)s)
)"""

USER_COLUMNS = "session_id, user_id, email, role, kind, csrf_token, expires_at"
"""``found``'s columns that make a ``SessionUser``, in its field order."""

_AUTHENTICATE = f"{LOOKUP}\nSELECT {USER_COLUMNS} FROM found WHERE NOT ended"


def lookup_params(token_hash: bytes, *, kind: Kind, idle: timedelta) -> dict[str, object]:
    """The parameters ``LOOKUP`` needs."""
    return {"token_hash": token_hash, "kind": kind, "idle": idle, "touch_every": TOUCH_EVERY}


async def authenticate(
    conn: Conn, token_hash: bytes, *, kind: Kind, idle: timedelta
) -> SessionUser | None:
    """The live session of a token hash and kind (its user enabled), its last use
    refreshed; None when unknown, of the other kind, expired or idle for longer
    than ``idle`` (an expired or idle session is deleted on the way)."""
    return await one(
        conn,
        SessionUser,
        _AUTHENTICATE,
        lookup_params(token_hash, kind=kind, idle=idle),
        per_request=True,
    )


async def delete(conn: Conn, session_id: int) -> None:
    await run(conn, "DELETE FROM sessions WHERE id = %s", (session_id,))


async def delete_for_user(conn: Conn, user_id: int, *, keep: int | None = None) -> int:
    """End every session of a user (but ``keep``); returns how many ended."""
    return await run(
        conn,
        "DELETE FROM sessions WHERE user_id = %s AND id IS DISTINCT FROM %s",
        (user_id, keep),
    )


async def purge_expired(conn: Conn, *, idle: timedelta) -> int:
    """Delete the sessions that expired or sat idle for longer than ``idle``."""
    return await run(
        conn,
        "DELETE FROM sessions WHERE expires_at <= now() OR last_used_at < now() - %s",
        (idle,),
    )


@dataclass(frozen=True, slots=True)
class _Id:
    id: int
