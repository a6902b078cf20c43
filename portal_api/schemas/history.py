"""Installation history and readings history (P14)."""

from __future__ import annotations

from datetime import datetime
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field

from portal_api.schemas.common import Kwh

SourceName = Literal["auto", "consumer", "controller", "estimate", "correction"]


class InstallationOut(BaseModel):
    meter_serial: str = Field(examples=["SN00000001"])
    meter_model: str = Field(examples=["GAMA 100"])
    digits: int = Field(examples=[6])
    zones: int = Field(examples=[2])
    install_place: str = Field(examples=["сходова клітка"])
    installed_at: datetime
    removed_at: datetime | None = Field(description="None: installed now.")
    values_at_install: dict[str, Kwh] = Field(
        description="Register -> kWh when installed.", examples=[{"1": "1234.000"}]
    )
    values_at_removal: dict[str, Kwh] = Field(examples=[{}])


class ReadingOut(BaseModel):
    model_config = ConfigDict(serialize_by_alias=True)

    meter_serial: str = Field(examples=["SN00000001"])
    register_: int = Field(alias="register", examples=[1])
    zone: str = Field(examples=["day"])
    read_at: datetime
    value: Kwh = Field(description="Register value, kWh.")
    value_wh: int = Field(examples=[1234567])
    source: SourceName = Field(
        description="auto: sent by the meter; consumer: submitted in the portal; "
        "controller: read by the inspector; estimate; correction.",
        examples=["consumer"],
    )
    quality: int = Field(description="Green Button QualityOfReading code.", examples=[0])


class ReadingsPage(BaseModel):
    next: str | None = Field(description="URL of the next (older) page.")
    results: list[ReadingOut]
