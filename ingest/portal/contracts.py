"""Contracts of an account and their documents (P11)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime

from ingest.portal._sql import Conn, many, one

_CONTRACT = """c.id, c.account_id, c.number, c.title, c.kind, c.signed_on, c.valid_until,
               c.status, c.created_at"""
_DOCUMENT = """d.id, d.contract_id, d.kind, d.title, d.filename, d.media_type, d.size_bytes,
               d.sha256, d.uploaded_at"""


@dataclass(frozen=True, slots=True, kw_only=True)
class Contract:
    id: int
    account_id: int
    number: str
    title: str
    kind: str
    signed_on: date
    valid_until: date | None
    status: str
    created_at: datetime


@dataclass(frozen=True, slots=True, kw_only=True)
class Document:
    id: int
    contract_id: int
    kind: str
    title: str
    filename: str
    media_type: str
    size_bytes: int
    sha256: str
    uploaded_at: datetime


@dataclass(frozen=True, slots=True, kw_only=True)
class DocumentFile:
    filename: str
    media_type: str
    content: bytes


@dataclass(frozen=True, slots=True, kw_only=True)
class NewContract:
    account_id: int
    number: str
    title: str
    kind: str
    signed_on: date
    valid_until: date | None


async def of_account(conn: Conn, account_id: int) -> list[Contract]:
    return await many(
        conn,
        Contract,
        f"""SELECT {_CONTRACT} FROM contracts c WHERE c.account_id = %s
            ORDER BY c.signed_on DESC, c.id DESC""",
        (account_id,),
    )


async def get(conn: Conn, contract_id: int, *, account_id: int | None) -> Contract | None:
    """A contract; with ``account_id`` only if it belongs to that account."""
    return await one(
        conn,
        Contract,
        f"""SELECT {_CONTRACT} FROM contracts c
            WHERE c.id = %s AND (%s::bigint IS NULL OR c.account_id = %s)""",
        (contract_id, account_id, account_id),
    )


async def create(conn: Conn, new: NewContract) -> Contract | None:
    """None when the account already has a contract with that number."""
    return await one(
        conn,
        Contract,
        f"""INSERT INTO contracts AS c (account_id, number, title, kind, signed_on, valid_until)
            VALUES (%s, %s, %s, %s, %s, %s) ON CONFLICT (account_id, number) DO NOTHING
            RETURNING {_CONTRACT}""",
        (new.account_id, new.number, new.title, new.kind, new.signed_on, new.valid_until),
    )


async def set_status(conn: Conn, contract_id: int, status: str) -> Contract | None:
    return await one(
        conn,
        Contract,
        f"UPDATE contracts c SET status = %s WHERE c.id = %s RETURNING {_CONTRACT}",
        (status, contract_id),
    )


async def documents(conn: Conn, contract_id: int) -> list[Document]:
    return await many(
        conn,
        Document,
        f"""SELECT {_DOCUMENT} FROM contract_documents d WHERE d.contract_id = %s
            ORDER BY d.kind = 'annex', d.uploaded_at, d.id""",
        (contract_id,),
    )


async def add_document(
    conn: Conn,
    *,
    contract_id: int,
    kind: str,
    title: str,
    filename: str,
    media_type: str,
    content: bytes,
    sha256: str,
) -> Document:
    row = await one(
        conn,
        Document,
        f"""INSERT INTO contract_documents AS d
                (contract_id, kind, title, filename, media_type, size_bytes, sha256, content)
            VALUES (%s, %s, %s, %s, %s, %s, %s, %s) RETURNING {_DOCUMENT}""",
        (contract_id, kind, title, filename, media_type, len(content), sha256, content),
    )
    assert row is not None
    return row


async def document_file(conn: Conn, *, contract_id: int, document_id: int) -> DocumentFile | None:
    return await one(
        conn,
        DocumentFile,
        """SELECT filename, media_type, content FROM contract_documents
           WHERE id = %s AND contract_id = %s""",
        (document_id, contract_id),
    )
