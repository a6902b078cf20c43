"""Reviewing contact-data change requests (P18): apply updates the account."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Query

from ingest.portal import accounts as accounts_sql
from ingest.portal import audit
from ingest.portal import contact_changes as changes_sql
from portal_api.deps import Conn, StaffUser, actor
from portal_api.errors import conflict, not_found, responses
from portal_api.schemas.records import ContactChangeOut, Review, change_out

router = APIRouter(prefix="/staff/contact-changes", tags=["staff: contact changes"])


@router.get("", summary="Requests, oldest first", responses=responses(401, 403, 422))
async def queue(
    user: StaffUser,
    conn: Conn,
    status_: Annotated[
        str | None, Query(alias="status", pattern="^(pending|applied|rejected)$")
    ] = "pending",
    limit: Annotated[int, Query(ge=1, le=500)] = 100,
    offset: Annotated[int, Query(ge=0, le=10**6)] = 0,
) -> list[ContactChangeOut]:
    rows = await changes_sql.queue(conn, status=status_, limit=limit, offset=offset)
    return [change_out(r) for r in rows]


async def _pending(conn: Conn, request_id: int) -> changes_sql.ChangeRequest:
    found = await changes_sql.get(conn, request_id, account_id=None)
    if found is None:
        raise not_found("no such request")
    if found.status != "pending":
        raise conflict("already-reviewed", f"the request was {found.status} already")
    return found


@router.post(
    "/{request_id}/apply",
    summary="Apply the new contact data to the account",
    responses=responses(401, 403, 404, 409, 422),
)
async def apply(request_id: int, body: Review, user: StaffUser, conn: Conn) -> ContactChangeOut:
    found = await _pending(conn, request_id)
    before = await accounts_sql.by_id(conn, found.account_id)
    reviewed = await changes_sql.review(
        conn, request_id, status="applied", reviewer_id=user.user_id, note=body.note
    )
    if reviewed is None or before is None:
        raise conflict("already-reviewed", "the request was reviewed meanwhile")
    after = await accounts_sql.update_contacts(
        conn, found.account_id, holder_name=found.holder_name, phone=found.phone, email=found.email
    )
    assert after is not None
    await audit.record(
        conn,
        actor=actor(user),
        action="contact_change.apply",
        entity="account",
        entity_id=found.account_id,
        details={
            "request_id": request_id,
            "before": {
                "holder_name": before.holder_name,
                "phone": before.phone,
                "email": before.email,
            },
            "after": {"holder_name": after.holder_name, "phone": after.phone, "email": after.email},
        },
    )
    return change_out(reviewed)


@router.post(
    "/{request_id}/reject",
    summary="Reject the request",
    responses=responses(401, 403, 404, 409, 422),
)
async def reject(request_id: int, body: Review, user: StaffUser, conn: Conn) -> ContactChangeOut:
    await _pending(conn, request_id)
    reviewed = await changes_sql.review(
        conn, request_id, status="rejected", reviewer_id=user.user_id, note=body.note
    )
    if reviewed is None:
        raise conflict("already-reviewed", "the request was reviewed meanwhile")
    await audit.record(
        conn,
        actor=actor(user),
        action="contact_change.reject",
        entity="contact_change_request",
        entity_id=request_id,
        details={"note": body.note},
    )
    return change_out(reviewed)
