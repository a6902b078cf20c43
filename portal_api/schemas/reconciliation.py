"""Billing periods as the reconciler computed them (P8) and its staff side."""

from __future__ import annotations

from datetime import date, datetime
from decimal import Decimal
from typing import Any

from pydantic import BaseModel, ConfigDict, Field

from ingest.reconcile import PeriodRead, ReconcileSummary, ReviewFlag
from portal_api.schemas.common import Kwh, kwh

PERIOD_PATTERN = r"^(20[0-9]{2})-(0[1-9]|1[0-2])$"


def _kwh(wh: int | None) -> str | None:
    return None if wh is None else kwh(wh)


class PeriodZone(BaseModel):
    model_config = ConfigDict(serialize_by_alias=True)

    register_: int = Field(alias="register", examples=[1])
    zone: str = Field(examples=["day"])
    consumption: Kwh | None = Field(description="kWh in the period (None: not known yet).")
    opening: Kwh | None = Field(description="Register at the period's start, kWh.")
    closing: Kwh | None = Field(description="Register at the cut-off, kWh.")
    source: str = Field(description="Where the closing value came from.", examples=["consumer"])
    status: str = Field(examples=["actual"], description="actual, estimated, disputed, corrected.")


class BillingPeriod(BaseModel):
    """P8: one billing period (calendar month) with its figures per zone."""

    period: str = Field(pattern=PERIOD_PATTERN, examples=["2026-02"])
    period_status: str = Field(examples=["closed"], description="open or closed.")
    consumption: Kwh | None = Field(description="All zones, kWh (None if any zone is unknown).")
    zones: list[PeriodZone]


class StaffPeriodRead(BaseModel):
    model_config = ConfigDict(serialize_by_alias=True)

    eic: str
    period: str = Field(examples=["2026-02"])
    register_: int = Field(alias="register")
    zone: str
    version: int
    opening_wh: int | None
    opening_at: datetime | None
    opening_source: str | None
    closing_wh: int | None
    closing_at: datetime | None
    consumption_wh: int | None
    source: str
    reason: str
    status: str
    period_status: str
    detail: dict[str, Any]
    created_at: datetime
    superseded_at: datetime | None


class FlagOut(BaseModel):
    model_config = ConfigDict(serialize_by_alias=True)

    id: int = Field(examples=[12])
    eic: str = Field(examples=["62Z0000000000017"])
    period: str = Field(examples=["2026-02"])
    register_: int | None = Field(alias="register", description="None: the point as a whole.")
    kind: str = Field(examples=["divergence"])
    reason: str
    created_at: datetime
    resolved_at: datetime | None
    resolved_by: str | None
    resolution: str | None


class Resolution(BaseModel):
    resolution: str = Field(min_length=1, max_length=2000, examples=["checked on site"])


class CloseRequest(BaseModel):
    force: bool = Field(default=False, description="Close before the consumer window ends.")


class Correction(BaseModel):
    model_config = ConfigDict(serialize_by_alias=True)

    eic: str = Field(pattern=r"^[0-9A-Za-z-]{16}$", examples=["62Z0000000000017"])
    register_: int = Field(alias="register", ge=0, le=14, examples=[1])
    closing_kwh: Decimal = Field(ge=0, max_digits=12, decimal_places=3, examples=["12410"])
    reason: str = Field(min_length=1, max_length=2000, examples=["controller's photo"])


class RunOut(BaseModel):
    run_id: int
    mode: str = Field(examples=["close"])
    periods: list[str] = Field(examples=[["2026-02"]])
    points: int
    results: int
    versions: int
    flags: int


def period_label(day: date) -> str:
    return f"{day:%Y-%m}"


def billing_periods(rows: list[PeriodRead]) -> list[BillingPeriod]:
    by_period: dict[date, list[PeriodRead]] = {}
    for r in rows:
        by_period.setdefault(r.period, []).append(r)
    out = []
    for period in sorted(by_period):
        zones = by_period[period]
        values = [z.consumption_wh for z in zones]
        total = None if any(v is None for v in values) else sum(v for v in values if v is not None)
        out.append(
            BillingPeriod(
                period=period_label(period),
                period_status=zones[0].period_status,
                consumption=_kwh(total),
                zones=[
                    PeriodZone(
                        register=z.register,
                        zone=z.zone,
                        consumption=_kwh(z.consumption_wh),
                        opening=_kwh(z.opening_wh),
                        closing=_kwh(z.closing_wh),
                        source=z.source,
                        status=z.status,
                    )
                    for z in zones
                ],
            )
        )
    return out


def staff_read(r: PeriodRead) -> StaffPeriodRead:
    return StaffPeriodRead(
        eic=r.eic,
        period=period_label(r.period),
        register=r.register,
        zone=r.zone,
        version=r.version,
        opening_wh=r.opening_wh,
        opening_at=r.opening_at,
        opening_source=r.opening_source,
        closing_wh=r.closing_wh,
        closing_at=r.closing_at,
        consumption_wh=r.consumption_wh,
        source=r.source,
        reason=r.reason,
        status=r.status,
        period_status=r.period_status,
        detail=r.detail,
        created_at=r.created_at,
        superseded_at=r.superseded_at,
    )


def flag_out(f: ReviewFlag) -> FlagOut:
    return FlagOut(
        id=f.id,
        eic=f.eic,
        period=period_label(f.period),
        register=f.register,
        kind=f.kind,
        reason=f.reason,
        created_at=f.created_at,
        resolved_at=f.resolved_at,
        resolved_by=f.resolved_by,
        resolution=f.resolution,
    )


def run_out(s: ReconcileSummary) -> RunOut:
    return RunOut(
        run_id=s.run_id,
        mode=s.mode,
        periods=[period_label(p) for p in s.periods],
        points=s.points,
        results=s.results,
        versions=s.versions,
        flags=s.flags,
    )
