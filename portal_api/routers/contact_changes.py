"""Requests to change the account's contact data (P18)."""

from __future__ import annotations

from fastapi import APIRouter, status

from ingest.portal import contact_changes as changes_sql
from portal_api.deps import Account, Conn, ConsumerUser
from portal_api.errors import responses
from portal_api.schemas.records import ContactChange, ContactChangeOut, change_out

router = APIRouter(prefix="/accounts/{account_number}/contact-changes", tags=["contact changes"])


@router.get(
    "", summary="The account's contact-change requests (P18)", responses=responses(401, 403, 404)
)
async def list_changes(account: Account, conn: Conn) -> list[ContactChangeOut]:
    return [change_out(r) for r in await changes_sql.of_account(conn, account.id)]


@router.post(
    "",
    status_code=status.HTTP_201_CREATED,
    summary="Send new contact data for an operator to apply (P18)",
    responses=responses(401, 403, 404, 422),
)
async def request_change(
    body: ContactChange, account: Account, user: ConsumerUser, conn: Conn
) -> ContactChangeOut:
    created = await changes_sql.create(
        conn,
        account_id=account.id,
        user_id=user.user_id,
        holder_name=body.holder_name,
        phone=body.phone,
        email=body.email,
        comment=body.comment,
    )
    return change_out(created)
