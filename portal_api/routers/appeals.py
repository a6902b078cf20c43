"""Appeals of an account (P16): list with answers, new appeal, attachments."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, File, Form, Response, UploadFile, status

from ingest.portal import appeals as appeals_sql
from portal_api.deps import Account, Conn, ConsumerUser, SettingsDep
from portal_api.errors import conflict, not_found, responses
from portal_api.routers.contracts import FILE_RESPONSE
from portal_api.schemas.appeals import CATEGORY_HELP, AppealOut, Category, Reply, appeals_out
from portal_api.uploads import clean_attachment, content_disposition, read_limited, safe_filename

router = APIRouter(prefix="/accounts/{account_number}/appeals", tags=["appeals"])


@router.get(
    "", summary="The account's appeals with answers (P16)", responses=responses(401, 403, 404)
)
async def list_appeals(account: Account, conn: Conn) -> list[AppealOut]:
    return await appeals_out(conn, await appeals_sql.of_account(conn, account.id))


@router.post(
    "",
    status_code=status.HTTP_201_CREATED,
    summary="Write a new appeal, optionally with a photo or scan (P16)",
    responses=responses(401, 403, 404, 413, 415, 422),
)
async def create_appeal(
    account: Account,
    user: ConsumerUser,
    conn: Conn,
    settings: SettingsDep,
    response: Response,
    category: Annotated[Category, Form(description=CATEGORY_HELP)],
    text: Annotated[str, Form(min_length=1, max_length=10000, description="The appeal.")],
    address: Annotated[
        str | None,
        Form(
            min_length=1, max_length=500, description="Connection address; default the account's."
        ),
    ] = None,
    attachment: Annotated[
        UploadFile | None, File(description="JPEG/PNG photo or PDF scan.")
    ] = None,
) -> AppealOut:
    """The account is filled in from the path. A photo is re-encoded without its
    metadata; a PDF is written again without its metadata."""
    file = None
    if attachment is not None and attachment.filename:
        data = await read_limited(attachment, settings.attachment_max_bytes)
        clean = await clean_attachment(data, max_pixels=settings.image_max_pixels)
        file = appeals_sql.NewFile(
            filename=safe_filename(attachment.filename, clean.media_type, "attachment"),
            media_type=clean.media_type,
            content=clean.content,
            sha256=clean.sha256,
        )
    appeal_id = await appeals_sql.create(
        conn,
        account_id=account.id,
        user_id=user.user_id,
        category=category,
        address=address or account.address,
        text=text,
        attachment=file,
    )
    appeal = await appeals_sql.get(conn, appeal_id, account_id=account.id)
    assert appeal is not None
    response.headers["Location"] = f"/api/v1/accounts/{account.number}/appeals/{appeal_id}"
    return (await appeals_out(conn, [appeal]))[0]


@router.get(
    "/{appeal_id}",
    summary="One appeal with its answers (P16)",
    responses=responses(401, 403, 404),
)
async def get_appeal(appeal_id: int, account: Account, conn: Conn) -> AppealOut:
    appeal = await appeals_sql.get(conn, appeal_id, account_id=account.id)
    if appeal is None:
        raise not_found("no such appeal on this account")
    return (await appeals_out(conn, [appeal]))[0]


@router.post(
    "/{appeal_id}/messages",
    status_code=status.HTTP_201_CREATED,
    summary="Add a reply to an appeal",
    responses=responses(401, 403, 404, 409, 422),
)
async def reply(
    appeal_id: int, body: Reply, account: Account, user: ConsumerUser, conn: Conn
) -> AppealOut:
    """Reopens an answered appeal; a closed one takes no more messages."""
    appeal = await appeals_sql.get(conn, appeal_id, account_id=account.id)
    if appeal is None:
        raise not_found("no such appeal on this account")
    if appeal.status == "closed":
        raise conflict("appeal-closed", "the appeal is closed")
    await appeals_sql.add_message(
        conn, appeal_id=appeal.id, author_id=user.user_id, from_staff=False, body=body.text
    )
    await appeals_sql.set_status(conn, appeal.id, "open")
    fresh = await appeals_sql.get(conn, appeal.id, account_id=account.id)
    assert fresh is not None
    return (await appeals_out(conn, [fresh]))[0]


@router.get(
    "/{appeal_id}/attachments/{attachment_id}",
    summary="Download an appeal's attachment",
    response_class=Response,
    responses={**FILE_RESPONSE, **responses(401, 403, 404)},
)
async def attachment_file(
    appeal_id: int, attachment_id: int, account: Account, conn: Conn
) -> Response:
    appeal = await appeals_sql.get(conn, appeal_id, account_id=account.id)
    if appeal is None:
        raise not_found("no such appeal on this account")
    file = await appeals_sql.attachment_file(conn, appeal_id=appeal.id, attachment_id=attachment_id)
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
