"""Disconnection warnings (P15)."""

from __future__ import annotations

from datetime import date, datetime
from typing import Literal

from pydantic import BaseModel, Field

from ingest.portal.warnings import DisconnectionWarning

Reason = Literal["debt", "planned_works", "other"]


class WarningOut(BaseModel):
    id: int = Field(examples=[5])
    account_number: str = Field(examples=["10000001"])
    eic: str = Field(examples=["62Z0000000000017"])
    reason: Reason = Field(examples=["debt"])
    message: str = Field(examples=["Заборгованість за розподіл електроенергії"])
    debt_kop: int | None = Field(description="Debt in kopiykas.", examples=[125050])
    issued_on: date
    planned_on: date = Field(description="Earliest disconnection date.")
    status: Literal["issued", "cancelled", "executed"] = Field(examples=["issued"])
    created_at: datetime


class NewWarning(BaseModel):
    account_number: str = Field(pattern=r"^[0-9A-Za-z-]{1,32}$", examples=["10000001"])
    eic: str | None = Field(
        default=None, pattern=r"^[0-9A-Za-z-]{16}$", description="Default: the account's point."
    )
    reason: Reason
    message: str = Field(min_length=1, max_length=5000)
    debt_kop: int | None = Field(default=None, ge=0, le=10**12)
    issued_on: date | None = Field(default=None, description="Default: today (Kyiv).")
    planned_on: date


class WarningStatus(BaseModel):
    status: Literal["issued", "cancelled", "executed"]


def warning_out(w: DisconnectionWarning) -> WarningOut:
    return WarningOut(
        id=w.id,
        account_number=w.account_number,
        eic=w.eic,
        reason=w.reason,  # type: ignore[arg-type]
        message=w.message,
        debt_kop=w.debt_kop,
        issued_on=w.issued_on,
        planned_on=w.planned_on,
        status=w.status,  # type: ignore[arg-type]
        created_at=w.created_at,
    )
