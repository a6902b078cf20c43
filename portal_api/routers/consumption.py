"""Consumption per period and zone (P8, P12) and the yearly summary (P9)."""

from __future__ import annotations

import functools
from datetime import UTC, date, datetime
from typing import Annotated, Any, NamedTuple

from fastapi import APIRouter, Query, Request, Response

from drivers.domain import KYIV
from ingest.portal.accounts import Point
from ingest.portal.consumption import Bucket, GroupBy, ZoneUsage
from ingest.reconcile import PeriodRead, parse_period, period_reads
from portal_api import points, usage
from portal_api.bodies import json_body
from portal_api.deps import AccountPoint, Conn
from portal_api.errors import responses
from portal_api.fastpath import fast_path
from portal_api.links import page_link
from portal_api.schemas.accounts import Zone
from portal_api.schemas.common import kwh, kyiv_text
from portal_api.schemas.consumption import (
    UNIT,
    Basis,
    ConsumptionPage,
    YearSummary,
    consumption_row,
    zone_rows,
)
from portal_api.schemas.reconciliation import PERIOD_PATTERN, BillingPeriod, billing_periods

router = APIRouter(prefix="/accounts/{account_number}/consumption", tags=["consumption"])


def page_of(
    request: Request,
    rows: list[Bucket],
    *,
    order_by: str,
    page_size: int,
    page: int,
    eic: str,
    group_by: str,
) -> Response:
    """Order, slice and link one page (Octopus Energy's ``count/next/previous``),
    a ``ConsumptionPage`` as JSON."""
    ordered = rows if order_by == "period" else list(reversed(rows))
    first = (page - 1) * page_size
    chunk = ordered[first : first + page_size]
    more = first + page_size < len(ordered)
    return json_body(
        {
            "count": len(ordered),
            "next": page_link(request, page=page + 1) if more else None,
            "previous": page_link(request, page=page - 1) if page > 1 else None,
            "results": [consumption_row(b) for b in chunk],
            "eic": eic,
            "group_by": group_by,
            "unit": UNIT,
        }
    )


async def consumption_page(
    request: Request,
    conn: Conn,
    point: Point,
    *,
    period_from: datetime | None,
    period_to: datetime | None,
    group_by: GroupBy,
    order_by: str,
    page_size: int,
    page: int,
) -> Response:
    """One page of ``point``'s consumption (the consumer's and the analyst's
    route), a ``ConsumptionPage`` as JSON."""
    w = usage.window(period_from, period_to, group_by)
    rows = await usage.buckets(request, conn, point, w)
    return page_of(
        request,
        rows,
        order_by=order_by,
        page_size=page_size,
        page=page,
        eic=point.eic,
        group_by=group_by,
    )


@router.get(
    "",
    summary="Consumption per bucket and zone (P8, P12)",
    response_model=ConsumptionPage,
    responses=responses(401, 403, 404, 422),
)
@fast_path
async def consumption(
    request: Request,
    point: AccountPoint,
    conn: Conn,
    period_from: usage.PeriodFrom = None,
    period_to: usage.PeriodTo = None,
    group_by: usage.GroupByQuery = "day",
    order_by: usage.OrderBy = "-period",
    page_size: usage.PageSize = 100,
    page: usage.PageNumber = 1,
) -> Response:
    """Register differences of the point's meters (a meter replaced inside a
    bucket adds both meters' energy), per tariff zone and in total, in exact kWh.
    ``group_by=month`` gives the billing periods (calendar months)."""
    return await consumption_page(
        request,
        conn,
        point,
        period_from=period_from,
        period_to=period_to,
        group_by=group_by,
        order_by=order_by,
        page_size=page_size,
        page=page,
    )


@router.get(
    "/periods",
    summary="Consumption per billing period and zone, as billed (P8)",
    responses=responses(401, 403, 404, 422),
)
async def billing(
    point: AccountPoint,
    conn: Conn,
    period_from: Annotated[
        str | None, Query(pattern=PERIOD_PATTERN, description="First period (YYYY-MM).")
    ] = None,
    period_to: Annotated[
        str | None, Query(pattern=PERIOD_PATTERN, description="Period after the last.")
    ] = None,
) -> list[BillingPeriod]:
    """The reconciler's figures per calendar month: opening and closing register
    values, where the closing came from (meter, consumer, controller, estimate,
    correction) and whether it is actual or estimated. Oldest first."""
    rows = await period_reads(
        conn,
        point_id=point.id,
        start=parse_period(period_from) if period_from else None,
        end=parse_period(period_to) if period_to else None,
    )
    return billing_periods(rows)


@router.get(
    "/yearly",
    summary="A year month by month, with chart data (P9, P12)",
    response_model=YearSummary,
    responses=responses(401, 403, 404, 422),
)
@fast_path
async def yearly(
    request: Request,
    point: AccountPoint,
    conn: Conn,
    year: Annotated[int | None, Query(ge=2000, le=2099, description="Default: this year.")] = None,
) -> Response:
    """Each month as billed (the reconciler's result for the period labelled with
    it, from consumer, controller or automatic readings) or, until that period is
    reconciled, metered (register differences of the automatic reads); ``basis``
    says which. The chart's series are the months' zone figures."""
    year = year or datetime.now(KYIV).year
    billed = await period_reads(
        conn, point_id=point.id, start=date(year, 1, 1), end=date(year + 1, 1, 1)
    )
    start = datetime(year, 1, 1, tzinfo=KYIV)
    end = datetime(year + 1, 1, 1, tzinfo=KYIV)
    w = usage.Window(start=start.astimezone(UTC), end=end.astimezone(UTC), group_by="month")
    by_month = _months(year, billed, await usage.buckets(request, conn, point, w))
    calendar = _calendar(year)
    months: list[dict[str, Any]] = []  # MonthRow fields
    for month, (first, nxt) in enumerate(calendar.bounds, start=1):
        basis, bucket = by_month.get(month, (None, None))
        total = bucket.wh if bucket else None
        months.append(
            {
                "month": month,
                "interval_start": first,
                "interval_end": nxt,
                "consumption": None if total is None else kwh(total),
                "zones": zone_rows(bucket) if bucket else [],
                "basis": basis,
            }
        )
    zones = points.zones(point)
    series = [
        {  # ChartSeries fields
            "zone": zone,
            "values": [_zone_kwh(by_month.get(m, (None, None))[1], register) for m in range(1, 13)],
        }
        for register, zone in _series_zones(zones, by_month)
    ]
    known = [b.wh for _, b in by_month.values() if b.wh is not None]
    return json_body(
        {
            "year": year,
            "eic": point.eic,
            "zones": zones,
            "months": months,
            "total": kwh(sum(known)) if known else None,
            "chart": {"labels": calendar.labels, "series": series},
        }
    )


class _Calendar(NamedTuple):
    bounds: tuple[tuple[str, str], ...]
    """Each month's start and end in Kyiv time, as body text."""
    labels: tuple[str, ...]
    """Each month as ``YYYY-MM``."""


@functools.cache
def _calendar(year: int) -> _Calendar:
    """The yearly summary's fixed text for ``year`` (2000..2099: at most a
    hundred kept), made once: ~28 µs of every summary otherwise."""
    bounds = (_calendar_month(year, m) for m in range(1, 13))
    return _Calendar(
        bounds=tuple((kyiv_text(first), kyiv_text(nxt)) for first, nxt in bounds),
        labels=tuple(f"{year}-{m:02d}" for m in range(1, 13)),
    )


def _calendar_month(year: int, month: int) -> tuple[datetime, datetime]:
    first = datetime(year, month, 1, tzinfo=KYIV)
    return first, datetime(year + (month == 12), month % 12 + 1, 1, tzinfo=KYIV)


def _months(
    year: int, billed: list[PeriodRead], metered: list[Bucket]
) -> dict[int, tuple[Basis, Bucket]]:
    """Month -> its figures: the billing period labelled with the month (the
    current version of each zone) if reconciled, else the automatic reads' bucket."""
    out: dict[int, tuple[Basis, Bucket]] = {
        b.interval_start.astimezone(KYIV).month: ("metered", b) for b in metered
    }
    zones: dict[int, list[ZoneUsage]] = {}
    for r in billed:
        zones.setdefault(r.period.month, []).append(
            ZoneUsage(register=r.register, zone=r.zone, wh=r.consumption_wh)
        )
    for month, usages in zones.items():
        first, nxt = _calendar_month(year, month)
        out[month] = ("billed", Bucket(interval_start=first, interval_end=nxt, zones=tuple(usages)))
    return out


def _series_zones(
    zones: list[Zone], by_month: dict[int, tuple[Basis, Bucket]]
) -> list[tuple[int, str]]:
    """(register, zone) of each chart series: the meter's zones, then any other
    zone a month names (a single-register meter on a multi-zone plan is billed
    per zone but metered in total)."""
    out = {z.register_: z.zone for z in zones}
    for _, bucket in sorted(by_month.values(), key=lambda mb: mb[1].interval_start):
        for u in bucket.zones:
            out.setdefault(u.register, u.zone)
    return list(out.items())


def _zone_kwh(bucket: Bucket | None, register: int) -> str | None:
    if bucket is None:
        return None
    for z in bucket.zones:
        if z.register == register and z.wh is not None:
            return kwh(z.wh)
    return None
