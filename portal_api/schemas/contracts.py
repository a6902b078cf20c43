"""Contracts and their documents (P11)."""

from __future__ import annotations

from datetime import date, datetime
from typing import Literal

from pydantic import BaseModel, Field, model_validator

from ingest.portal.contracts import Contract, Document

ContractKind = Literal["distribution", "supply", "connection", "services", "other"]


class DocumentOut(BaseModel):
    id: int = Field(examples=[7])
    kind: Literal["contract", "annex"] = Field(examples=["annex"])
    title: str = Field(examples=["Додаток 1. Однолінійна схема"])
    filename: str = Field(examples=["annex-1.pdf"])
    media_type: str = Field(examples=["application/pdf"])
    size_bytes: int = Field(examples=[48213])
    sha256: str
    uploaded_at: datetime


class ContractOut(BaseModel):
    id: int = Field(examples=[3])
    number: str = Field(examples=["Р-2024/1187"])
    title: str = Field(examples=["Договір споживача про надання послуг з розподілу"])
    kind: ContractKind = Field(examples=["distribution"])
    signed_on: date
    valid_until: date | None
    status: Literal["active", "terminated"] = Field(examples=["active"])


class ContractDetail(ContractOut):
    account_number: str = Field(examples=["10000001"])
    documents: list[DocumentOut]


class NewContract(BaseModel):
    account_number: str = Field(pattern=r"^[0-9A-Za-z-]{1,32}$", examples=["10000001"])
    number: str = Field(min_length=1, max_length=64, examples=["Р-2024/1187"])
    title: str = Field(min_length=1, max_length=300, examples=["Договір про розподіл"])
    kind: ContractKind = "distribution"
    signed_on: date
    valid_until: date | None = None

    @model_validator(mode="after")
    def _dates(self) -> NewContract:
        if self.valid_until is not None and self.valid_until < self.signed_on:
            raise ValueError("valid_until must not be before signed_on")
        return self


class ContractStatus(BaseModel):
    status: Literal["active", "terminated"]


def contract_out(c: Contract) -> ContractOut:
    return ContractOut(
        id=c.id,
        number=c.number,
        title=c.title,
        kind=c.kind,  # type: ignore[arg-type]
        signed_on=c.signed_on,
        valid_until=c.valid_until,
        status=c.status,  # type: ignore[arg-type]
    )


def document_out(d: Document) -> DocumentOut:
    return DocumentOut(
        id=d.id,
        kind=d.kind,  # type: ignore[arg-type]
        title=d.title,
        filename=d.filename,
        media_type=d.media_type,
        size_bytes=d.size_bytes,
        sha256=d.sha256,
        uploaded_at=d.uploaded_at,
    )


def contract_detail(c: Contract, account_number: str, docs: list[Document]) -> ContractDetail:
    return ContractDetail(
        **contract_out(c).model_dump(),
        account_number=account_number,
        documents=[document_out(d) for d in docs],
    )
