"""The appeals inbox and answers (operators)."""

from __future__ import annotations

import contextlib
from typing import Annotated

from fastapi import APIRouter, Query, Response, status

from ingest.portal import appeals as appeals_sql
from ingest.portal import audit
from portal_api import mail
from portal_api.deps import Conn, MailerDep, StaffUser, actor
from portal_api.errors import ProblemError, conflict, not_found, responses
from portal_api.routers.contracts import FILE_RESPONSE
from portal_api.schemas.appeals import Answer, Category, StaffAppealOut, appeals_out
from portal_api.uploads import content_disposition

router = APIRouter(prefix="/staff/appeals", tags=["staff: appeals"])


@router.get("", summary="The appeals inbox, oldest first", responses=responses(401, 403, 422))
async def inbox(
    user: StaffUser,
    conn: Conn,
    status_: Annotated[
        str | None, Query(alias="status", pattern="^(open|answered|closed)$")
    ] = "open",
    category: Annotated[Category | None, Query()] = None,
    limit: Annotated[int, Query(ge=1, le=500)] = 100,
    offset: Annotated[int, Query(ge=0, le=10**6)] = 0,
) -> list[StaffAppealOut]:
    rows = await appeals_sql.inbox(
        conn, status=status_, category=category, limit=limit, offset=offset
    )
    return await appeals_out(conn, rows, staff=True)  # type: ignore[return-value]


@router.get("/{appeal_id}", summary="One appeal", responses=responses(401, 403, 404))
async def get_appeal(appeal_id: int, user: StaffUser, conn: Conn) -> StaffAppealOut:
    appeal = await appeals_sql.get(conn, appeal_id, account_id=None)
    if appeal is None:
        raise not_found("no such appeal")
    return (await appeals_out(conn, [appeal], staff=True))[0]  # type: ignore[return-value]


@router.post(
    "/{appeal_id}/answers",
    status_code=status.HTTP_201_CREATED,
    summary="Answer an appeal (the consumer sees it under the appeal)",
    responses=responses(401, 403, 404, 409, 422),
)
async def answer(
    appeal_id: int, body: Answer, user: StaffUser, conn: Conn, mailer: MailerDep
) -> StaffAppealOut:
    """The consumer is told by e-mail that an answer is waiting (no text in the
    mail; a mail failure does not undo the answer)."""
    appeal = await appeals_sql.get(conn, appeal_id, account_id=None)
    if appeal is None:
        raise not_found("no such appeal")
    if appeal.status == "closed":
        raise conflict("appeal-closed", "the appeal is closed")
    message = await appeals_sql.add_message(
        conn, appeal_id=appeal.id, author_id=user.user_id, from_staff=True, body=body.text
    )
    await appeals_sql.set_status(conn, appeal.id, "closed" if body.close else "answered")
    await audit.record(
        conn,
        actor=actor(user),
        action="appeal.answer",
        entity="appeal",
        entity_id=appeal.id,
        details={"message_id": message.id, "close": body.close},
    )
    # The answer stands if the mail fails: the consumer sees it in the cabinet.
    with contextlib.suppress(ProblemError):
        await mailer.send(appeal.user_email, *mail.appeal_answered(appeal.id))
    fresh = await appeals_sql.get(conn, appeal.id, account_id=None)
    assert fresh is not None
    return (await appeals_out(conn, [fresh], staff=True))[0]  # type: ignore[return-value]


@router.get(
    "/{appeal_id}/attachments/{attachment_id}",
    summary="Download an appeal's attachment",
    response_class=Response,
    responses={**FILE_RESPONSE, **responses(401, 403, 404)},
)
async def attachment(appeal_id: int, attachment_id: int, user: StaffUser, conn: Conn) -> Response:
    file = await appeals_sql.attachment_file(conn, appeal_id=appeal_id, attachment_id=attachment_id)
    if file is None:
        raise not_found("no such attachment")
    return Response(
        file.content,
        media_type=file.media_type,
        headers={
            "Content-Disposition": content_disposition(file.filename),
            "X-Content-Type-Options": "nosniff",
        },
    )
