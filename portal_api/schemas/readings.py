"""Reading submission (P5) and its photos (P6)."""

from __future__ import annotations

from datetime import date, datetime
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field, field_validator

from portal_api.schemas.common import Kwh


class LastReading(BaseModel):
    value_kwh: int = Field(description="Integer part, as the dial shows.", examples=[12345])
    read_at: datetime
    source: Literal["auto", "consumer", "controller", "estimate", "correction"]


class FormZone(BaseModel):
    model_config = ConfigDict(serialize_by_alias=True)

    register_: int = Field(alias="register", examples=[1])
    zone: str = Field(examples=["day"])
    last: LastReading | None = Field(description="The latest stored reading of the zone.")


class SubmissionForm(BaseModel):
    """P5: what the form shows before the consumer types the new readings."""

    eic: str = Field(examples=["62Z0000000000017"])
    address: str = Field(examples=["Луцьк, вул. Лесі Українки, 2"])
    meter_model: str = Field(description="Meter type.", examples=["GAMA 100"])
    meter_serial: str = Field(examples=["SN00000002"])
    install_place: str = Field(examples=["фасад будинку"])
    zone_count: int = Field(examples=[2])
    digits: int = Field(description="Dial digits (rolls over at 10^digits kWh).", examples=[6])
    zones: list[FormZone]


class ZoneValue(BaseModel):
    model_config = ConfigDict(serialize_by_alias=True)

    register_: int = Field(alias="register", ge=0, le=4, examples=[1])
    value_kwh: int = Field(
        ge=0, le=999_999_999, description="The black digits only (integer kWh).", examples=[12410]
    )


class SubmissionIn(BaseModel):
    """One new reading per zone (never the sum of zones)."""

    values: list[ZoneValue] = Field(min_length=1, max_length=4)

    @field_validator("values")
    @classmethod
    def _distinct(cls, values: list[ZoneValue]) -> list[ZoneValue]:
        if len({v.register_ for v in values}) != len(values):
            raise ValueError("one value per zone")
        return values

    def as_mapping(self) -> dict[int, int]:
        return {v.register_: v.value_kwh for v in self.values}


class ZonePreview(BaseModel):
    model_config = ConfigDict(serialize_by_alias=True)

    register_: int = Field(alias="register", examples=[1])
    zone: str = Field(examples=["day"])
    value_kwh: int | None = Field(description="As typed; None when left out.", examples=[12410])
    previous_kwh: Kwh | None = Field(description="The previous reading of the zone.")
    previous_at: datetime | None
    previous_source: str | None = Field(
        description="auto, consumer, controller or install.", examples=["controller"]
    )
    since_controller_kwh: Kwh | None = Field(
        description="Upper figure: kWh since the controller's mid-month reading (None: no such "
        "reading)."
    )
    period_total_kwh: Kwh | None = Field(description="Lower figure: the billing period so far.")
    errors: list[str] = Field(examples=[[]])


class Preview(BaseModel):
    """P5 live preview; ``ok`` false means the confirm call would be refused."""

    ok: bool
    period: date | None = Field(description="The billing period the readings count for.")
    zones: list[ZonePreview]
    errors: list[str] = Field(description="Every reason to refuse, the point's and the zones'.")


class SubmissionOut(BaseModel):
    submission_id: int = Field(examples=[31])
    submitted_at: datetime
    values: list[ZoneValue]
    detail: str = Field(examples=["покази прийнято"])


class PhotoOut(BaseModel):
    id: int = Field(examples=[3])
    submission_id: int = Field(examples=[31])
    media_type: Literal["image/jpeg", "image/png"]
    width: int = Field(examples=[1600])
    height: int = Field(examples=[1200])
    size_bytes: int = Field(examples=[183220])
    uploaded_at: datetime


class SubmissionSummary(BaseModel):
    submission_id: int = Field(examples=[31])
    submitted_at: datetime
    photos: list[PhotoOut]
