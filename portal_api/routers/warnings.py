"""Warnings of disconnection for the account's points (P15)."""

from __future__ import annotations

from fastapi import APIRouter

from ingest.portal import warnings as warnings_sql
from portal_api.deps import Account, Conn
from portal_api.errors import responses
from portal_api.schemas.warnings import WarningOut, warning_out

router = APIRouter(prefix="/accounts/{account_number}/warnings", tags=["warnings"])


@router.get(
    "", summary="History of disconnection warnings (P15)", responses=responses(401, 403, 404)
)
async def list_warnings(account: Account, conn: Conn) -> list[WarningOut]:
    return [warning_out(w) for w in await warnings_sql.of_account(conn, account.id)]
