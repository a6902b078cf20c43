"""Models of the staff side (operators, admins)."""

from __future__ import annotations

from datetime import datetime
from decimal import Decimal
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, model_validator

from portal_api.schemas.accounts import Equipment
from portal_api.schemas.common import Email


class AccountCard(BaseModel):
    number: str = Field(examples=["10000001"])
    holder_name: str = Field(examples=["Олена Ковальчук"])
    address: str = Field(examples=["Луцьк, вул. Лесі Українки, 2"])
    phone: str | None = Field(examples=["+380501234567"])
    email: str | None = Field(examples=["olena@example.com"])


class AccountDetail(AccountCard):
    points: list[Equipment]


class ControllerValue(BaseModel):
    model_config = ConfigDict(serialize_by_alias=True)

    register_: int = Field(alias="register", ge=0, le=14, examples=[1])
    value_kwh: Decimal = Field(
        ge=0,
        max_digits=12,
        decimal_places=3,
        description="As read, up to 3 decimals.",
        examples=["12410.5"],
    )


class ControllerReading(BaseModel):
    """One visit of a controller (inspector) to a meter."""

    eic: str | None = Field(
        default=None, pattern=r"^[0-9A-Za-z-]{16}$", examples=["62Z0000000000017"]
    )
    meter_serial: str | None = Field(default=None, min_length=1, max_length=64)
    read_at: datetime | None = Field(default=None, description="Default: now.")
    controller: str | None = Field(
        default=None, max_length=100, description="Who read it; default the operator."
    )
    values: list[ControllerValue] = Field(min_length=1, max_length=10)

    @model_validator(mode="after")
    def _one_of(self) -> ControllerReading:
        if (self.eic is None) == (self.meter_serial is None):
            raise ValueError("give either eic or meter_serial")
        return self


class RowErrorOut(BaseModel):
    line: int = Field(examples=[7])
    message: str = Field(examples=["meter SN00000001 has no register 3"])


class ImportResult(BaseModel):
    rows: int = Field(examples=[120])
    stored: int = Field(examples=[118])
    duplicates: int = Field(description="Already stored with the same value.", examples=[2])
    errors: list[RowErrorOut] = Field(description="Rows refused (first 500).", examples=[[]])


class StaffUserIn(BaseModel):
    email: Email
    role: Literal["operator", "analyst", "admin"]


class StaffUserPatch(BaseModel):
    role: Literal["consumer", "operator", "analyst", "admin"] | None = None
    disabled: bool | None = None


class UserRow(BaseModel):
    id: int = Field(examples=[2])
    email: str = Field(examples=["operator@example.com"])
    role: Literal["consumer", "operator", "analyst", "admin"]
    confirmed: bool
    disabled: bool
    created_at: datetime


class AuditOut(BaseModel):
    id: int
    at: datetime
    actor: str = Field(examples=["user:2"])
    action: str = Field(examples=["contact_change.apply"])
    entity: str = Field(examples=["account"])
    entity_id: str = Field(examples=["17"])
    details: dict[str, Any]
