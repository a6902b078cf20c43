"""Opaque server-side sessions. The store keeps the SHA-256 of the token only."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
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


async def lookup(conn: Conn, token_hash: bytes) -> SessionUser | None:
    """The session of a token hash, if it exists, has not expired and its user is enabled."""
    return await one(
        conn,
        SessionUser,
        """SELECT s.id AS session_id, u.id AS user_id, u.email, u.role, s.kind, s.csrf_token,
                  s.expires_at
           FROM sessions s JOIN users u ON u.id = s.user_id
           WHERE s.token_hash = %s AND s.expires_at > now() AND u.disabled_at IS NULL""",
        (token_hash,),
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


async def purge_expired(conn: Conn) -> int:
    return await run(conn, "DELETE FROM sessions WHERE expires_at <= now()")


@dataclass(frozen=True, slots=True)
class _Id:
    id: int
