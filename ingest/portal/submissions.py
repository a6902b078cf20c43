"""Which portal user made which consumer submission, and its photos (P5, P6).

``submission_id`` is the reconciler's ``consumer_submissions.id``; the portal
keeps its own record so that it can check ownership without depending on the
reconciler's tables.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from ingest.portal._sql import Conn, many, one, run


@dataclass(frozen=True, slots=True, kw_only=True)
class PortalSubmission:
    submission_id: int
    account_id: int
    point_id: int
    user_id: int
    submitted_at: datetime


@dataclass(frozen=True, slots=True, kw_only=True)
class Photo:
    id: int
    submission_id: int
    media_type: str
    width: int
    height: int
    size_bytes: int
    sha256: str
    uploaded_at: datetime


@dataclass(frozen=True, slots=True, kw_only=True)
class PhotoFile:
    media_type: str
    content: bytes


async def record(
    conn: Conn, *, submission_id: int, account_id: int, point_id: int, user_id: int
) -> None:
    await run(
        conn,
        """INSERT INTO portal_submissions (submission_id, account_id, point_id, user_id)
           VALUES (%s, %s, %s, %s)""",
        (submission_id, account_id, point_id, user_id),
    )


async def get(conn: Conn, submission_id: int, *, account_id: int | None) -> PortalSubmission | None:
    return await one(
        conn,
        PortalSubmission,
        """SELECT submission_id, account_id, point_id, user_id, submitted_at FROM portal_submissions
           WHERE submission_id = %s AND (%s::bigint IS NULL OR account_id = %s)""",
        (submission_id, account_id, account_id),
    )


async def of_account(conn: Conn, account_id: int, *, limit: int) -> list[PortalSubmission]:
    return await many(
        conn,
        PortalSubmission,
        """SELECT submission_id, account_id, point_id, user_id, submitted_at FROM portal_submissions
           WHERE account_id = %s ORDER BY submitted_at DESC LIMIT %s""",
        (account_id, limit),
    )


_PHOTO = "id, submission_id, media_type, width, height, size_bytes, sha256, uploaded_at"


async def add_photo(
    conn: Conn,
    *,
    submission_id: int,
    media_type: str,
    width: int,
    height: int,
    content: bytes,
    sha256: str,
) -> Photo:
    row = await one(
        conn,
        Photo,
        f"""INSERT INTO submission_photos
                (submission_id, media_type, width, height, size_bytes, sha256, content)
            VALUES (%s, %s, %s, %s, %s, %s, %s) RETURNING {_PHOTO}""",
        (submission_id, media_type, width, height, len(content), sha256, content),
    )
    assert row is not None
    return row


async def photos(conn: Conn, submission_id: int) -> list[Photo]:
    return await many(
        conn,
        Photo,
        f"SELECT {_PHOTO} FROM submission_photos WHERE submission_id = %s ORDER BY id",
        (submission_id,),
    )


async def photo_count(conn: Conn, submission_id: int) -> int:
    rows = await photos(conn, submission_id)
    return len(rows)


async def photo_file(conn: Conn, *, submission_id: int, photo_id: int) -> PhotoFile | None:
    return await one(
        conn,
        PhotoFile,
        "SELECT media_type, content FROM submission_photos WHERE id = %s AND submission_id = %s",
        (photo_id, submission_id),
    )
