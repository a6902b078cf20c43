"""Contact-data change requests (P18): submitted by a consumer, reviewed by an
operator, who applies them to ``accounts`` or rejects them."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from ingest.portal._sql import Conn, many, one

_COLUMNS = """r.id, r.account_id, a.number AS account_number, r.holder_name, r.phone, r.email,
              r.comment, r.status, r.review_note, r.reviewed_at, r.created_at"""
_FROM = "contact_change_requests r JOIN accounts a ON a.id = r.account_id"


@dataclass(frozen=True, slots=True, kw_only=True)
class ChangeRequest:
    id: int
    account_id: int
    account_number: str
    holder_name: str | None
    phone: str | None
    email: str | None
    comment: str
    status: str
    review_note: str
    reviewed_at: datetime | None
    created_at: datetime


async def create(
    conn: Conn,
    *,
    account_id: int,
    user_id: int,
    holder_name: str | None,
    phone: str | None,
    email: str | None,
    comment: str,
) -> ChangeRequest:
    row = await one(
        conn,
        _Id,
        """INSERT INTO contact_change_requests
               (account_id, user_id, holder_name, phone, email, comment)
           VALUES (%s, %s, %s, %s, %s, %s) RETURNING id""",
        (account_id, user_id, holder_name, phone, email, comment),
    )
    assert row is not None
    created = await get(conn, row.id, account_id=None)
    assert created is not None
    return created


async def get(conn: Conn, request_id: int, *, account_id: int | None) -> ChangeRequest | None:
    return await one(
        conn,
        ChangeRequest,
        f"""SELECT {_COLUMNS} FROM {_FROM}
            WHERE r.id = %s AND (%s::bigint IS NULL OR r.account_id = %s)""",
        (request_id, account_id, account_id),
    )


async def of_account(conn: Conn, account_id: int) -> list[ChangeRequest]:
    return await many(
        conn,
        ChangeRequest,
        f"""SELECT {_COLUMNS} FROM {_FROM} WHERE r.account_id = %s
            ORDER BY r.created_at DESC, r.id DESC""",
        (account_id,),
    )


async def queue(conn: Conn, *, status: str | None, limit: int, offset: int) -> list[ChangeRequest]:
    return await many(
        conn,
        ChangeRequest,
        f"""SELECT {_COLUMNS} FROM {_FROM}
            WHERE (%(status)s::text IS NULL OR r.status = %(status)s)
            ORDER BY r.created_at, r.id LIMIT %(limit)s OFFSET %(offset)s""",
        {"status": status, "limit": limit, "offset": offset},
    )


async def review(
    conn: Conn, request_id: int, *, status: str, reviewer_id: int, note: str
) -> ChangeRequest | None:
    """Mark a pending request applied or rejected (locks it); None if not pending."""
    row = await one(
        conn,
        _Id,
        """UPDATE contact_change_requests
           SET status = %s, reviewed_by = %s, reviewed_at = now(), review_note = %s
           WHERE id = %s AND status = 'pending' RETURNING id""",
        (status, reviewer_id, note, request_id),
    )
    return None if row is None else await get(conn, row.id, account_id=None)


@dataclass(frozen=True, slots=True)
class _Id:
    id: int
