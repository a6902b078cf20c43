"""Appeals with staff answers and attachments (P16)."""

from __future__ import annotations

from datetime import datetime
from typing import Literal

from pydantic import BaseModel, Field

from ingest.portal import Conn
from ingest.portal import appeals as appeals_sql

Category = Literal["connection", "financial", "contract", "other"]
CATEGORY_HELP = (
    "connection: disconnection/connection; financial: financial questions; "
    "contract: contractual relations; other."
)


class MessageOut(BaseModel):
    id: int = Field(examples=[11])
    from_staff: bool = Field(description="True: an answer from the company.")
    body: str = Field(examples=["Прошу перевірити нарахування за січень."])
    created_at: datetime


class AttachmentOut(BaseModel):
    id: int = Field(examples=[2])
    filename: str = Field(examples=["rakhunok.pdf"])
    media_type: str = Field(examples=["application/pdf"])
    size_bytes: int = Field(examples=[48213])
    created_at: datetime


class AppealOut(BaseModel):
    id: int = Field(examples=[9])
    account_number: str = Field(examples=["10000001"])
    category: Category = Field(description=CATEGORY_HELP, examples=["financial"])
    address: str = Field(examples=["Луцьк, вул. Лесі Українки, 2"])
    status: Literal["open", "answered", "closed"] = Field(examples=["answered"])
    created_at: datetime
    updated_at: datetime
    messages: list[MessageOut] = Field(description="The text first, then answers and replies.")
    attachments: list[AttachmentOut]


class StaffAppealOut(AppealOut):
    user_email: str = Field(examples=["olena.kovalchuk@example.com"])


class Answer(BaseModel):
    text: str = Field(min_length=1, max_length=10000, examples=["Перерахунок виконано."])
    close: bool = Field(default=False, description="Close the appeal with this answer.")


class Reply(BaseModel):
    text: str = Field(min_length=1, max_length=10000, examples=["Дякую!"])


async def appeals_out(
    conn: Conn, rows: list[appeals_sql.Appeal], *, staff: bool = False
) -> list[AppealOut]:
    """Appeals with their messages and attachments (two queries for all)."""
    ids = [a.id for a in rows]
    messages = await appeals_sql.messages(conn, ids) if ids else []
    files = await appeals_sql.attachments(conn, ids) if ids else []
    out: list[AppealOut] = []
    for a in rows:
        fields = dict(
            id=a.id,
            account_number=a.account_number,
            category=a.category,
            address=a.address,
            status=a.status,
            created_at=a.created_at,
            updated_at=a.updated_at,
            messages=[
                MessageOut(id=m.id, from_staff=m.from_staff, body=m.body, created_at=m.created_at)
                for m in messages
                if m.appeal_id == a.id
            ],
            attachments=[
                AttachmentOut(
                    id=f.id,
                    filename=f.filename,
                    media_type=f.media_type,
                    size_bytes=f.size_bytes,
                    created_at=f.created_at,
                )
                for f in files
                if f.appeal_id == a.id
            ],
        )
        out.append(
            StaffAppealOut(**fields, user_email=a.user_email) if staff else AppealOut(**fields)  # type: ignore[arg-type]
        )
    return out
