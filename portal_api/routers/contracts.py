"""Contracts of an account: list, details, view and download (P11)."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Query, Response

from ingest.portal import contracts as contracts_sql
from portal_api.deps import Account, Conn
from portal_api.errors import not_found, responses
from portal_api.schemas.contracts import ContractDetail, ContractOut, contract_detail, contract_out
from portal_api.uploads import content_disposition

router = APIRouter(prefix="/accounts/{account_number}/contracts", tags=["contracts"])

FILE_RESPONSE: dict[int | str, dict[str, Any]] = {
    200: {
        "description": "The file.",
        "content": {
            "application/pdf": {"schema": {"type": "string", "format": "binary"}},
            "image/jpeg": {"schema": {"type": "string", "format": "binary"}},
            "image/png": {"schema": {"type": "string", "format": "binary"}},
        },
    }
}


@router.get("", summary="Every contract of the account (P11)", responses=responses(401, 403, 404))
async def list_contracts(account: Account, conn: Conn) -> list[ContractOut]:
    return [contract_out(c) for c in await contracts_sql.of_account(conn, account.id)]


@router.get(
    "/{contract_id}",
    summary="One contract with its documents (P11)",
    responses=responses(401, 403, 404),
)
async def get_contract(contract_id: int, account: Account, conn: Conn) -> ContractDetail:
    contract = await contracts_sql.get(conn, contract_id, account_id=account.id)
    if contract is None:
        raise not_found("no such contract on this account")
    return contract_detail(
        contract, account.number, await contracts_sql.documents(conn, contract.id)
    )


@router.get(
    "/{contract_id}/documents/{document_id}",
    summary="View or download the contract or an annex (P11)",
    response_class=Response,
    responses={**FILE_RESPONSE, **responses(401, 403, 404)},
)
async def download(
    contract_id: int,
    document_id: int,
    account: Account,
    conn: Conn,
    inline: Annotated[bool, Query(description="Show in the browser instead of saving.")] = False,
) -> Response:
    contract = await contracts_sql.get(conn, contract_id, account_id=account.id)
    if contract is None:
        raise not_found("no such contract on this account")
    doc = await contracts_sql.document_file(conn, contract_id=contract.id, document_id=document_id)
    if doc is None:
        raise not_found("no such document")
    return Response(
        doc.content,
        media_type=doc.media_type,
        headers={
            "Content-Disposition": content_disposition(doc.filename, inline=inline),
            "X-Content-Type-Options": "nosniff",
        },
    )
