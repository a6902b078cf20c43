"""Contracts and their documents (operators publish them; P11)."""

from __future__ import annotations

from typing import Annotated, Literal

from fastapi import APIRouter, File, Form, Query, Response, UploadFile, status

from ingest.portal import accounts as accounts_sql
from ingest.portal import audit
from ingest.portal import contracts as contracts_sql
from portal_api.deps import Conn, SettingsDep, StaffUser, actor
from portal_api.errors import conflict, not_found, responses
from portal_api.routers.contracts import FILE_RESPONSE
from portal_api.schemas.contracts import (
    ContractDetail,
    ContractOut,
    ContractStatus,
    DocumentOut,
    NewContract,
    contract_detail,
    contract_out,
    document_out,
)
from portal_api.uploads import clean_pdf, content_disposition, read_limited, safe_filename

router = APIRouter(prefix="/staff/contracts", tags=["staff: contracts"])


@router.get("", summary="Contracts of an account", responses=responses(401, 403, 404, 422))
async def list_contracts(
    user: StaffUser,
    conn: Conn,
    account_number: Annotated[str, Query(pattern=r"^[0-9A-Za-z-]{1,32}$")],
) -> list[ContractOut]:
    account = await accounts_sql.by_number(conn, account_number)
    if account is None:
        raise not_found("no such account")
    return [contract_out(c) for c in await contracts_sql.of_account(conn, account.id)]


@router.post(
    "",
    status_code=status.HTTP_201_CREATED,
    summary="Register a signed contract",
    responses=responses(401, 403, 404, 409, 422),
)
async def create(body: NewContract, user: StaffUser, conn: Conn) -> ContractDetail:
    account = await accounts_sql.by_number(conn, body.account_number)
    if account is None:
        raise not_found("no such account")
    created = await contracts_sql.create(
        conn,
        contracts_sql.NewContract(
            account_id=account.id,
            number=body.number,
            title=body.title,
            kind=body.kind,
            signed_on=body.signed_on,
            valid_until=body.valid_until,
        ),
    )
    if created is None:
        raise conflict("contract-exists", "the account has a contract with this number")
    await audit.record(
        conn,
        actor=actor(user),
        action="contract.create",
        entity="contract",
        entity_id=created.id,
        details={"account": account.number, "number": created.number},
    )
    return contract_detail(created, account.number, [])


@router.get(
    "/{contract_id}", summary="A contract with its documents", responses=responses(401, 403, 404)
)
async def get_contract(contract_id: int, user: StaffUser, conn: Conn) -> ContractDetail:
    contract = await contracts_sql.get(conn, contract_id, account_id=None)
    if contract is None:
        raise not_found("no such contract")
    account = await accounts_sql.by_id(conn, contract.account_id)
    assert account is not None
    return contract_detail(
        contract, account.number, await contracts_sql.documents(conn, contract.id)
    )


@router.patch(
    "/{contract_id}", summary="Terminate or reactivate", responses=responses(401, 403, 404, 422)
)
async def set_status(
    contract_id: int, body: ContractStatus, user: StaffUser, conn: Conn
) -> ContractOut:
    updated = await contracts_sql.set_status(conn, contract_id, body.status)
    if updated is None:
        raise not_found("no such contract")
    await audit.record(
        conn,
        actor=actor(user),
        action="contract.status",
        entity="contract",
        entity_id=contract_id,
        details={"status": body.status},
    )
    return contract_out(updated)


@router.post(
    "/{contract_id}/documents",
    status_code=status.HTTP_201_CREATED,
    summary="Upload the contract's text or an annex (PDF)",
    responses=responses(401, 403, 404, 413, 415, 422),
)
async def upload(
    contract_id: int,
    user: StaffUser,
    conn: Conn,
    settings: SettingsDep,
    kind: Annotated[Literal["contract", "annex"], Form()],
    title: Annotated[str, Form(min_length=1, max_length=300)],
    file: Annotated[
        UploadFile, File(description="PDF, read and written again without its metadata.")
    ],
) -> DocumentOut:
    contract = await contracts_sql.get(conn, contract_id, account_id=None)
    if contract is None:
        raise not_found("no such contract")
    clean = await clean_pdf(await read_limited(file, settings.document_max_bytes))
    doc = await contracts_sql.add_document(
        conn,
        contract_id=contract.id,
        kind=kind,
        title=title,
        filename=safe_filename(file.filename, clean.media_type, f"contract-{contract.number}"),
        media_type=clean.media_type,
        content=clean.content,
        sha256=clean.sha256,
    )
    await audit.record(
        conn,
        actor=actor(user),
        action="contract.document",
        entity="contract",
        entity_id=contract.id,
        details={"document_id": doc.id, "kind": kind, "sha256": doc.sha256, "size": doc.size_bytes},
    )
    return document_out(doc)


@router.get(
    "/{contract_id}/documents/{document_id}",
    summary="Download a document",
    response_class=Response,
    responses={**FILE_RESPONSE, **responses(401, 403, 404)},
)
async def download(contract_id: int, document_id: int, user: StaffUser, conn: Conn) -> Response:
    doc = await contracts_sql.document_file(conn, contract_id=contract_id, document_id=document_id)
    if doc is None:
        raise not_found("no such document")
    return Response(
        doc.content,
        media_type=doc.media_type,
        headers={
            "Content-Disposition": content_disposition(doc.filename),
            "X-Content-Type-Options": "nosniff",
        },
    )
