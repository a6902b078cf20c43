"""Consumption per period and zone (P8, P9, P12), Octopus Energy's shape."""

from __future__ import annotations

from datetime import datetime
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field

from ingest.portal.consumption import Bucket
from portal_api.schemas.accounts import Zone
from portal_api.schemas.common import Kwh, Page, kwh, kyiv_text


class ZoneConsumption(BaseModel):
    model_config = ConfigDict(serialize_by_alias=True)

    register_: int = Field(alias="register", examples=[1])
    zone: str = Field(examples=["day"])
    consumption: Kwh | None = Field(
        description="None: unknown (the register went backwards implausibly, or the "
        "reconciler has no figure for the zone yet)."
    )
    consumption_wh: int | None = Field(examples=[12345])


class ConsumptionRow(BaseModel):
    consumption: Kwh | None = Field(description="All zones together, kWh.")
    consumption_wh: int | None = Field(examples=[17890])
    interval_start: datetime = Field(description="Inclusive, Kyiv local time.")
    interval_end: datetime = Field(description="Exclusive.")
    zones: list[ZoneConsumption]


UNIT = "kWh"


class ConsumptionPage(Page[ConsumptionRow]):
    eic: str = Field(examples=["62Z0000000000017"])
    group_by: str = Field(examples=["day"])
    unit: str = Field(default=UNIT, examples=[UNIT])


Basis = Literal["billed", "metered"]


class MonthRow(BaseModel):
    """One calendar month of P9: billed figures when the month's period is reconciled."""

    month: int = Field(ge=1, le=12, examples=[1])
    interval_start: datetime = Field(description="The calendar month, Kyiv local time.")
    interval_end: datetime = Field(description="Exclusive.")
    consumption: Kwh | None = Field(description="All zones, kWh (None if any zone is unknown).")
    zones: list[ZoneConsumption]
    basis: Basis | None = Field(
        examples=["billed"],
        description="billed: the reconciler's result for the billing period labelled with "
        "this month (as /consumption/periods shows it; consumer, controller or automatic "
        "readings); metered: no period result yet, so register differences of the automatic "
        "reads in the calendar month (typically the running month); None: neither, and "
        "consumption is None and zones empty.",
    )


class ChartSeries(BaseModel):
    zone: str = Field(examples=["day"])
    values: list[Kwh | None] = Field(
        description="One value per label (month): the zone's figure in ``months``."
    )


class Chart(BaseModel):
    """Ready for a stacked bar chart: one series per zone, one label per month."""

    labels: list[str] = Field(examples=[["2026-01", "2026-02"]])
    series: list[ChartSeries]


class YearSummary(BaseModel):
    """P9: the selected year month by month, with chart data."""

    year: int = Field(examples=[2026])
    eic: str = Field(examples=["62Z0000000000017"])
    zones: list[Zone]
    months: list[MonthRow]
    total: Kwh | None = Field(description="The months with a known consumption, all zones.")
    chart: Chart


# The rows below are plain dicts, serialized as they are (``portal_api.bodies``):
# a model built per row and zone cost ~25 % more (31 days: 253 -> 203 µs).


def zone_rows(bucket: Bucket) -> list[dict[str, Any]]:
    """``ZoneConsumption`` fields of each zone of a bucket."""
    return [
        {
            "register": z.register,
            "zone": z.zone,
            "consumption": None if z.wh is None else kwh(z.wh),
            "consumption_wh": z.wh,
        }
        for z in bucket.zones
    ]


def consumption_row(bucket: Bucket) -> dict[str, Any]:
    """``ConsumptionRow`` fields of a bucket, in Kyiv time."""
    total = bucket.wh
    return {
        "consumption": None if total is None else kwh(total),
        "consumption_wh": total,
        "interval_start": kyiv_text(bucket.interval_start),
        "interval_end": kyiv_text(bucket.interval_end),
        "zones": zone_rows(bucket),
    }
