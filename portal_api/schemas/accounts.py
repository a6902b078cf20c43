"""Personal accounts, metering points and equipment (P4, P7, P13, P19)."""

from __future__ import annotations

from datetime import datetime
from decimal import Decimal
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field, model_validator

from ingest.portal.accounts import LinkedAccount, Point


class Activation(BaseModel):
    """P4: the account number and EITHER the meter serial OR the EIC's last 5 characters."""

    account_number: str = Field(pattern=r"^[0-9A-Za-z-]{1,32}$", examples=["10000001"])
    meter_serial: str | None = Field(
        default=None, min_length=1, max_length=64, examples=["SN00000001"]
    )
    eic_last5: str | None = Field(default=None, pattern=r"^[0-9A-Za-z-]{5}$", examples=["0001K"])

    @model_validator(mode="after")
    def _one_of(self) -> Activation:
        if (self.meter_serial is None) == (self.eic_last5 is None):
            raise ValueError("give either meter_serial or eic_last5")
        return self


class Zone(BaseModel):
    model_config = ConfigDict(serialize_by_alias=True)

    register_: int = Field(
        alias="register", description="Store register: 0 total, 1..4 tariff T1..T4.", examples=[1]
    )
    zone: str = Field(examples=["day"])


class Meter(BaseModel):
    serial: str = Field(examples=["SN00000001"])
    model: str = Field(examples=["GAMA 100"])
    digits: int = Field(
        description="Dial digits; the register rolls over at 10^digits kWh.", examples=[6]
    )
    zones: int = Field(examples=[2])
    scales: int = Field(examples=[2])
    install_place: str = Field(examples=["сходова клітка"])
    installed_at: datetime = Field(description="Admission (commissioning) date.")
    zone_registers: list[Zone]


class PointSummary(BaseModel):
    eic: str = Field(examples=["62Z0000000000017"])
    address: str = Field(examples=["Луцьк, вул. Лесі Українки, 2"])
    tariff_plan: Literal["single", "two_zone", "three_zone"] = Field(examples=["two_zone"])
    meter: Meter | None


class Equipment(PointSummary):
    """P13: what measures the point's electricity."""

    region: str = Field(examples=["Луцьк"])
    permitted_power_kw: Decimal = Field(examples=["7.00"])
    input_breaker: bool = Field(description="Input circuit breakers present.")


class AccountOut(BaseModel):
    number: str = Field(examples=["10000001"])
    holder_name: str = Field(examples=["Олена Ковальчук"])
    address: str = Field(examples=["Луцьк, вул. Лесі Українки, 2"])
    active: bool = Field(description="The default account of the login (P19).")
    linked_at: datetime


class Home(BaseModel):
    """P7: what the utility holds about the account."""

    number: str = Field(examples=["10000001"])
    holder_name: str = Field(examples=["Олена Ковальчук"])
    address: str = Field(examples=["Луцьк, вул. Лесі Українки, 2"])
    phone: str | None = Field(examples=["+380501234567"])
    email: str | None = Field(examples=["olena@example.com"])
    active: bool
    points: list[PointSummary]


class Activated(BaseModel):
    """P4 success: the account and its metering points; next, submit readings."""

    account: AccountOut
    points: list[PointSummary]


def meter_of(point: Point, zones: list[Zone]) -> Meter | None:
    if point.meter_serial is None or point.installed_at is None:
        return None
    return Meter(
        serial=point.meter_serial,
        model=point.meter_model or "",
        digits=point.digits or 0,
        zones=point.zones or 0,
        scales=point.scales or 0,
        install_place=point.install_place or "",
        installed_at=point.installed_at,
        zone_registers=zones,
    )


def account_out(account: LinkedAccount) -> AccountOut:
    return AccountOut(
        number=account.number,
        holder_name=account.holder_name,
        address=account.address,
        active=account.active,
        linked_at=account.linked_at,
    )
