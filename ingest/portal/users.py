"""Logins: consumers who registered themselves and staff created by an admin."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Literal

import psycopg

from ingest.portal._sql import Conn, many, one, run

Role = Literal["consumer", "operator", "analyst", "admin"]

_COLUMNS = """id, email, role, password_hash, confirmed_at, disabled_at, created_at"""


@dataclass(frozen=True, slots=True, kw_only=True)
class User:
    id: int
    email: str
    role: Role
    password_hash: str | None
    """argon2id PHC string; None until the user sets a password (P3)."""
    confirmed_at: datetime | None
    disabled_at: datetime | None
    created_at: datetime


async def create_consumer(conn: Conn, email: str) -> User | None:
    """Register a consumer who accepted both consents now; None if the e-mail is taken."""
    return await one(
        conn,
        User,
        f"""INSERT INTO users (email, role, terms_accepted_at, data_consent_at)
            VALUES (%s, 'consumer', now(), now())
            ON CONFLICT (lower(email)) DO NOTHING
            RETURNING {_COLUMNS}""",
        (email,),
    )


async def create_staff(conn: Conn, email: str, role: Role) -> User | None:
    """Create a staff login (confirmed; the password is set through a reset link)."""
    return await one(
        conn,
        User,
        f"""INSERT INTO users (email, role, confirmed_at) VALUES (%s, %s, now())
            ON CONFLICT (lower(email)) DO NOTHING
            RETURNING {_COLUMNS}""",
        (email, role),
    )


async def by_email(conn: Conn, email: str) -> User | None:
    return await one(
        conn, User, f"SELECT {_COLUMNS} FROM users WHERE lower(email) = lower(%s)", (email,)
    )


async def by_id(conn: Conn, user_id: int) -> User | None:
    return await one(conn, User, f"SELECT {_COLUMNS} FROM users WHERE id = %s", (user_id,))


async def listing(conn: Conn, *, role: Role | None, limit: int, offset: int) -> list[User]:
    return await many(
        conn,
        User,
        f"""SELECT {_COLUMNS} FROM users WHERE %(role)s::text IS NULL OR role = %(role)s
            ORDER BY id LIMIT %(limit)s OFFSET %(offset)s""",
        {"role": role, "limit": limit, "offset": offset},
    )


async def set_password(conn: Conn, user_id: int, password_hash: str, *, confirm: bool) -> None:
    """Store a new password hash; ``confirm`` also marks the e-mail confirmed."""
    await run(
        conn,
        """UPDATE users SET password_hash = %s, password_changed_at = now(),
                            confirmed_at = CASE WHEN %s THEN coalesce(confirmed_at, now())
                                                ELSE confirmed_at END
           WHERE id = %s""",
        (password_hash, confirm, user_id),
    )


async def set_email(conn: Conn, user_id: int, email: str) -> bool:
    """Change the login e-mail; False when another user holds it."""
    try:
        async with conn.transaction():
            return (
                await run(conn, "UPDATE users SET email = %s WHERE id = %s", (email, user_id)) == 1
            )
    except psycopg.errors.UniqueViolation:
        return False


async def update_staff(
    conn: Conn, user_id: int, *, role: Role | None, disabled: bool | None
) -> User | None:
    """Change a user's role and/or disable or re-enable the login."""
    return await one(
        conn,
        User,
        f"""UPDATE users SET role = coalesce(%(role)s::text, role),
                   disabled_at = CASE WHEN %(disabled)s::boolean IS NULL THEN disabled_at
                                      WHEN %(disabled)s::boolean THEN coalesce(disabled_at, now())
                                      ELSE NULL END
            WHERE id = %(id)s
            RETURNING {_COLUMNS}""",
        {"role": role, "disabled": disabled, "id": user_id},
    )
