"""Links sent by e-mail: single use, expiring, kept as a SHA-256 hash."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import timedelta
from typing import Literal

from ingest.portal._sql import Conn, one, run

Purpose = Literal["confirm", "reset", "email_change"]


@dataclass(frozen=True, slots=True, kw_only=True)
class UsedToken:
    user_id: int
    purpose: Purpose
    new_email: str | None


async def issue(
    conn: Conn,
    *,
    user_id: int,
    purpose: Purpose,
    token_hash: bytes,
    ttl: timedelta,
    new_email: str | None = None,
) -> None:
    """Store a new token; earlier unused tokens of the same purpose stop working."""
    await run(
        conn,
        """UPDATE email_tokens SET used_at = now()
           WHERE user_id = %s AND purpose = %s AND used_at IS NULL""",
        (user_id, purpose),
    )
    await run(
        conn,
        """INSERT INTO email_tokens (token_hash, user_id, purpose, new_email, expires_at)
           VALUES (%s, %s, %s, %s, now() + %s)""",
        (token_hash, user_id, purpose, new_email, ttl),
    )


async def consume(conn: Conn, *, token_hash: bytes, purpose: Purpose) -> UsedToken | None:
    """Use a token once: None when unknown, used, expired or meant for something else."""
    return await one(
        conn,
        UsedToken,
        """UPDATE email_tokens SET used_at = now()
           WHERE token_hash = %s AND purpose = %s AND used_at IS NULL AND expires_at > now()
           RETURNING user_id, purpose, new_email""",
        (token_hash, purpose),
    )
