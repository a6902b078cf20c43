"""Finding accounts (operators)."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Query

from ingest.portal import accounts as accounts_sql
from portal_api import points
from portal_api.deps import AccountNumber, Conn, StaffUser
from portal_api.errors import not_found, responses
from portal_api.schemas.staff import AccountCard, AccountDetail

router = APIRouter(prefix="/staff/accounts", tags=["staff: accounts"])


@router.get(
    "",
    summary="Search accounts by number, EIC, meter serial or name",
    responses=responses(401, 403, 422),
)
async def search(
    user: StaffUser,
    conn: Conn,
    q: Annotated[str, Query(min_length=2, max_length=100, description="What to look for.")],
    limit: Annotated[int, Query(ge=1, le=200)] = 50,
) -> list[AccountCard]:
    rows = await accounts_sql.search(conn, query=q, limit=limit)
    return [
        AccountCard(
            number=a.number,
            holder_name=a.holder_name,
            address=a.address,
            phone=a.phone,
            email=a.email,
        )
        for a in rows
    ]


@router.get(
    "/{account_number}", summary="An account with its points", responses=responses(401, 403, 404)
)
async def detail(account_number: AccountNumber, user: StaffUser, conn: Conn) -> AccountDetail:
    account = await accounts_sql.by_number(conn, account_number)
    if account is None:
        raise not_found("no such account")
    return AccountDetail(
        number=account.number,
        holder_name=account.holder_name,
        address=account.address,
        phone=account.phone,
        email=account.email,
        points=[points.equipment(p) for p in await accounts_sql.points(conn, account.id)],
    )
