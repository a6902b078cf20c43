"""Appeals (P16): the consumer's text, staff answers under it, attachments."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from ingest.portal._sql import Conn, many, one, run, scalar

_APPEAL = """ap.id, ap.account_id, a.number AS account_number, ap.user_id, u.email AS user_email,
             ap.category, ap.address, ap.status, ap.created_at, ap.updated_at"""
_FROM = "appeals ap JOIN accounts a ON a.id = ap.account_id JOIN users u ON u.id = ap.user_id"


@dataclass(frozen=True, slots=True, kw_only=True)
class Appeal:
    id: int
    account_id: int
    account_number: str
    user_id: int
    user_email: str
    category: str
    address: str
    status: str
    created_at: datetime
    updated_at: datetime


@dataclass(frozen=True, slots=True, kw_only=True)
class Message:
    id: int
    appeal_id: int
    from_staff: bool
    body: str
    created_at: datetime


@dataclass(frozen=True, slots=True, kw_only=True)
class Attachment:
    id: int
    appeal_id: int
    filename: str
    media_type: str
    size_bytes: int
    created_at: datetime


@dataclass(frozen=True, slots=True, kw_only=True)
class AttachmentFile:
    filename: str
    media_type: str
    content: bytes


@dataclass(frozen=True, slots=True, kw_only=True)
class NewFile:
    filename: str
    media_type: str
    content: bytes
    sha256: str


async def create(
    conn: Conn,
    *,
    account_id: int,
    user_id: int,
    category: str,
    address: str,
    text: str,
    attachment: NewFile | None,
) -> int:
    """A new appeal with its text (the first message) and optional attachment."""
    appeal_id = await scalar(
        conn,
        """INSERT INTO appeals (account_id, user_id, category, address)
           VALUES (%s, %s, %s, %s) RETURNING id""",
        (account_id, user_id, category, address),
    )
    await add_message(conn, appeal_id=appeal_id, author_id=user_id, from_staff=False, body=text)
    if attachment is not None:
        await add_attachment(conn, appeal_id=appeal_id, file=attachment)
    return int(appeal_id)


async def add_message(
    conn: Conn, *, appeal_id: int, author_id: int, from_staff: bool, body: str
) -> Message:
    row = await one(
        conn,
        Message,
        """INSERT INTO appeal_messages (appeal_id, author_id, from_staff, body)
           VALUES (%s, %s, %s, %s) RETURNING id, appeal_id, from_staff, body, created_at""",
        (appeal_id, author_id, from_staff, body),
    )
    assert row is not None
    return row


async def add_attachment(conn: Conn, *, appeal_id: int, file: NewFile) -> Attachment:
    row = await one(
        conn,
        Attachment,
        """INSERT INTO appeal_attachments
               (appeal_id, filename, media_type, size_bytes, sha256, content)
           VALUES (%s, %s, %s, %s, %s, %s)
           RETURNING id, appeal_id, filename, media_type, size_bytes, created_at""",
        (appeal_id, file.filename, file.media_type, len(file.content), file.sha256, file.content),
    )
    assert row is not None
    return row


async def set_status(conn: Conn, appeal_id: int, status: str) -> None:
    await run(
        conn,
        "UPDATE appeals SET status = %s, updated_at = now() WHERE id = %s",
        (status, appeal_id),
    )


async def of_account(conn: Conn, account_id: int) -> list[Appeal]:
    return await many(
        conn,
        Appeal,
        f"""SELECT {_APPEAL} FROM {_FROM} WHERE ap.account_id = %s
            ORDER BY ap.created_at DESC, ap.id DESC""",
        (account_id,),
    )


async def inbox(
    conn: Conn, *, status: str | None, category: str | None, limit: int, offset: int
) -> list[Appeal]:
    """Staff view: oldest open first."""
    return await many(
        conn,
        Appeal,
        f"""SELECT {_APPEAL} FROM {_FROM}
            WHERE (%(status)s::text IS NULL OR ap.status = %(status)s)
              AND (%(category)s::text IS NULL OR ap.category = %(category)s)
            ORDER BY ap.created_at, ap.id LIMIT %(limit)s OFFSET %(offset)s""",
        {"status": status, "category": category, "limit": limit, "offset": offset},
    )


async def get(conn: Conn, appeal_id: int, *, account_id: int | None) -> Appeal | None:
    """An appeal; with ``account_id`` only if it belongs to that account."""
    return await one(
        conn,
        Appeal,
        f"""SELECT {_APPEAL} FROM {_FROM}
            WHERE ap.id = %s AND (%s::bigint IS NULL OR ap.account_id = %s)""",
        (appeal_id, account_id, account_id),
    )


async def messages(conn: Conn, appeal_ids: list[int]) -> list[Message]:
    return await many(
        conn,
        Message,
        """SELECT id, appeal_id, from_staff, body, created_at FROM appeal_messages
           WHERE appeal_id = ANY(%s) ORDER BY created_at, id""",
        (appeal_ids,),
    )


async def attachments(conn: Conn, appeal_ids: list[int]) -> list[Attachment]:
    return await many(
        conn,
        Attachment,
        """SELECT id, appeal_id, filename, media_type, size_bytes, created_at
           FROM appeal_attachments
           WHERE appeal_id = ANY(%s) ORDER BY id""",
        (appeal_ids,),
    )


async def attachment_file(
    conn: Conn, *, appeal_id: int, attachment_id: int
) -> AttachmentFile | None:
    return await one(
        conn,
        AttachmentFile,
        """SELECT filename, media_type, content FROM appeal_attachments
           WHERE id = %s AND appeal_id = %s""",
        (attachment_id, appeal_id),
    )
