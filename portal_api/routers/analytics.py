"""Analysts: fleet time series, aggregates, completeness, top consumers and load
profiles, as JSON or streamed CSV/Parquet (analyst and admin roles only).

The SQL lives in ``ingest.analytics``; this module turns query parameters into
a selection and a period, runs the query, and converts Wh to kWh at the edge:
integer energy as exact decimal strings (as the consumer routes do), means and
percentiles as numbers. JSON answers stop at ``JSON_MAX_ROWS`` rows (422 past
that: ask for CSV or Parquet, which stream any size).
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Sequence
from datetime import datetime, timedelta
from typing import Annotated, Any, Generic, Literal, TypeVar

import psycopg
from fastapi import APIRouter, Depends, Query
from fastapi.responses import StreamingResponse
from pydantic import BaseModel, ConfigDict, Field

from drivers.domain import KYIV, Plan, Source
from ingest import analytics
from ingest.analytics import export
from ingest.analytics.aggregates import Dimension as AggregateBy
from ingest.analytics.buckets import BucketSize, Table, coarsest, floor
from ingest.analytics.completeness import Dimension as CompletenessBy
from ingest.analytics.query import Column
from ingest.analytics.top import MAX_N
from portal_api import usage
from portal_api.deps import AnalystUser, Conn, SettingsDep, StoreDep
from portal_api.errors import ProblemError, invalid, responses
from portal_api.schemas.common import Kwh, kwh
from portal_api.uploads import content_disposition

router = APIRouter(prefix="/analytics", tags=["analytics"])

JSON_MAX_ROWS = 50_000
Format = Literal["json", "csv", "parquet"]

PeriodFrom = Annotated[
    datetime | None,
    Query(
        description="Inclusive start, rounded down to a bucket start. Without an offset it is "
        "Kyiv local time. Default: a span before period_to that suits the bucket size.",
        examples=["2026-01-01T00:00:00+02:00"],
    ),
]
PeriodTo = Annotated[
    datetime | None,
    Query(
        description="Exclusive end, rounded up to a bucket boundary. Default: now.",
        examples=["2026-04-01T00:00:00+03:00"],
    ),
]
BucketQuery = Annotated[BucketSize, Query(description="Bucket size, Kyiv local time.")]
FormatQuery = Annotated[
    Format, Query(description="json (at most 50,000 rows), or csv / parquet (streamed).")
]


EicQuery = Annotated[
    str | None, Query(pattern=r"^[0-9A-Za-z-]{16}$", description="One metering point (EIC).")
]
SerialQuery = Annotated[
    str | None, Query(min_length=1, max_length=64, description="One meter (serial).")
]
RegionQuery = Annotated[
    str | None,
    Query(min_length=1, max_length=200, description="Region prefix.", examples=["Луцьк"]),
]
AddressQuery = Annotated[
    str | None, Query(min_length=1, max_length=500, description="Address prefix.")
]
PlanQuery = Annotated[Plan | None, Query(description="Tariff plan.")]
ZoneQuery = Annotated[
    str | None,
    Query(min_length=1, max_length=32, description="Zone: total, day, night, peak, half_peak."),
]
SourceQuery = Annotated[Source, Query(description="Which readings.")]


async def _selection(
    eic: EicQuery = None,
    serial: SerialQuery = None,
    region: RegionQuery = None,
    address: AddressQuery = None,
    plan: PlanQuery = None,
    zone: ZoneQuery = None,
    source: SourceQuery = Source.AUTO,
) -> analytics.Selection:
    return analytics.Selection(
        eic=eic.upper() if eic else None,
        serial=serial,
        region=region,
        address=address,
        plan=plan,
        zone=zone,
        source=source,
    )


async def _meter_selection(
    eic: EicQuery = None,
    serial: SerialQuery = None,
    region: RegionQuery = None,
    address: AddressQuery = None,
    plan: PlanQuery = None,
    source: SourceQuery = Source.AUTO,
) -> analytics.Selection:
    return await _selection(
        eic=eic, serial=serial, region=region, address=address, plan=plan, source=source
    )


Filters = Annotated[analytics.Selection, Depends(_selection)]
MeterFilters = Annotated[analytics.Selection, Depends(_meter_selection)]


def _span(
    period_from: datetime | None, period_to: datetime | None, size: BucketSize
) -> tuple[datetime, datetime]:
    """Aware, ordered bounds inside 2000..2100, no longer than the size allows."""
    return usage.span(period_from, period_to, size, named=size)


T = TypeVar("T", bound=BaseModel)


class AnalyticsPage(BaseModel, Generic[T]):
    table: Table = Field(description="The stored relation that answered (rollup or raw).")
    unit: str = Field(default="kWh", examples=["kWh"])
    count: int = Field(ge=0)
    results: list[T]


class SeriesRow(BaseModel):
    model_config = ConfigDict(serialize_by_alias=True)

    interval_start: datetime = Field(
        description="Inclusive, Kyiv local time.", examples=["2026-10-25T00:00:00+03:00"]
    )
    interval_end: datetime = Field(description="Exclusive.", examples=["2026-10-26T00:00:00+02:00"])
    serial: str = Field(examples=["SN00000001"])
    eic: str
    region: str
    plan: str
    zone: str
    register_: int = Field(alias="register", description="0 import total, 1..4 T1..T4.")
    reads: int
    kwh: Kwh | None = Field(description="None: the register went backwards implausibly.")


class AggregateRow(BaseModel):
    interval_start: datetime = Field(examples=["2026-10-01T00:00:00+03:00"])
    interval_end: datetime = Field(examples=["2026-11-01T00:00:00+02:00"])
    zone: str | None = None
    region: str | None = None
    plan: str | None = None
    meters: int = Field(description="Meters with a known consumption in the group.")
    sum_kwh: Kwh | None
    mean_kwh: float | None = Field(description="Per meter.")
    p50_kwh: float | None
    p95_kwh: float | None


class CompletenessRow(BaseModel):
    day: datetime | None = Field(default=None, description="Local midnight of the day.")
    region: str | None = None
    meters: int = Field(description="Meters (meter-days over several days) expected.")
    reporting: int = Field(description="Of those, with at least one read.")
    share: float = Field(ge=0, le=1, examples=[0.987])


class TopRow(BaseModel):
    rank: int = Field(examples=[1])
    serial: str
    eic: str
    region: str
    address: str
    plan: str
    kwh: Kwh | None = Field(description="None: a register went backwards implausibly.")


class ProfileRow(BaseModel):
    plan: str
    hour: int = Field(ge=0, le=23, description="Local hour of day.", examples=[19])
    samples: int = Field(description="Meter-hours averaged.")
    mean_kwh: float


def _json_value(column: Column, value: Any) -> Any:
    if value is None:
        return None
    if column.kind == "wh":
        return kwh(int(value))
    if column.kind == "mean_wh":
        return round(float(value) / 1000, 4)
    if column.kind in ("time", "date"):
        return value.astimezone(KYIV)
    return value


async def _answer(
    query: analytics.Query,
    fmt: Format,
    row_model: type[T],
    conn: Conn,
    store: StoreDep,
    settings: SettingsDep,
    name: str,
) -> AnalyticsPage[T] | StreamingResponse:
    timeout = settings.analytics_statement_timeout
    if fmt != "json":
        return _streamed(query, fmt, store, timeout, name)
    try:
        rows = await analytics.fetch(
            conn, query, limit=JSON_MAX_ROWS + 1, statement_timeout=timeout
        )
    except psycopg.errors.QueryCanceled as exc:
        raise ProblemError(
            503,
            "query-timeout",
            "Query timed out",
            f"the query ran longer than {timeout.total_seconds():g} s: narrow it",
        ) from exc
    if len(rows) > JSON_MAX_ROWS:
        raise invalid(
            "too-many-rows",
            f"more than {JSON_MAX_ROWS} rows: narrow the query or use format=csv or parquet",
        )
    columns = query.columns
    results = [
        row_model.model_validate(
            {c.edge_name: _json_value(c, v) for c, v in zip(columns, row, strict=True)}
        )
        for row in rows
    ]
    return AnalyticsPage[row_model](table=query.table, count=len(results), results=results)  # type: ignore[valid-type]


def _streamed(
    query: analytics.Query,
    fmt: Literal["csv", "parquet"],
    store: StoreDep,
    timeout: timedelta,
    name: str,
) -> StreamingResponse:
    async def chunks() -> AsyncIterator[Sequence[Sequence[Any]]]:
        # The request's own connection is back in the pool once the route
        # returns, so the stream takes one of its own. A fetch past the timeout
        # ends the stream (the status line has gone out): the file is cut short.
        async with store.pool.connection() as conn:
            async for rows in analytics.stream(conn, query, statement_timeout=timeout):
                yield rows

    filename = f"{name}.{fmt}"
    return StreamingResponse(
        export.stream(fmt, query.columns, chunks()),
        media_type=export.MEDIA_TYPES[fmt],
        headers={
            "Content-Disposition": content_disposition(filename),
            "X-Metergate-Table": query.table,
        },
    )


def _built(build: Any, *args: Any, **kwargs: Any) -> analytics.Query:
    try:
        query: analytics.Query = build(*args, **kwargs)
    except ValueError as exc:
        raise invalid("bad-query", str(exc)) from exc
    return query


_FILES = {
    200: {
        "description": "JSON, or the file (Content-Disposition: attachment).",
        "content": {
            "text/csv": {"schema": {"type": "string"}},
            export.MEDIA_TYPES["parquet"]: {"schema": {"type": "string", "format": "binary"}},
        },
    },
    **responses(401, 403, 422, 503),
}


@router.get(
    "/series",
    summary="Consumption per meter, zone and bucket",
    response_model=AnalyticsPage[SeriesRow],
    responses=_FILES,
)
async def series(
    user: AnalystUser,
    conn: Conn,
    store: StoreDep,
    settings: SettingsDep,
    selection: Filters,
    period_from: PeriodFrom = None,
    period_to: PeriodTo = None,
    bucket: BucketQuery = "day",
    format: FormatQuery = "json",
) -> AnalyticsPage[SeriesRow] | StreamingResponse:
    start, end = _span(period_from, period_to, bucket)
    period = analytics.Period.covering(start, end, bucket)
    query = _built(analytics.series, selection, period, store.backend)
    return await _answer(query, format, SeriesRow, conn, store, settings, f"series-{bucket}")


@router.get(
    "/aggregates",
    summary="Sum, mean, p50 and p95 per bucket and zone, region or plan",
    response_model=AnalyticsPage[AggregateRow],
    responses=_FILES,
)
async def aggregates(
    user: AnalystUser,
    conn: Conn,
    store: StoreDep,
    settings: SettingsDep,
    selection: Filters,
    period_from: PeriodFrom = None,
    period_to: PeriodTo = None,
    bucket: BucketQuery = "month",
    by: Annotated[
        list[AggregateBy | Literal["all"]] | None,
        Query(
            description="Group by these (repeat the parameter); default zone. "
            "`all`: the whole selection as one group."
        ),
    ] = None,
    format: FormatQuery = "json",
) -> AnalyticsPage[AggregateRow] | StreamingResponse:
    start, end = _span(period_from, period_to, bucket)
    period = analytics.Period.covering(start, end, bucket)
    dims = ["zone"] if by is None else [d for d in by if d != "all"]
    query = _built(analytics.aggregates, selection, period, store.backend, by=dims)
    return await _answer(query, format, AggregateRow, conn, store, settings, f"aggregates-{bucket}")


@router.get(
    "/completeness",
    summary="Share of meters with a read per local day and region",
    response_model=AnalyticsPage[CompletenessRow],
    responses=_FILES,
)
async def completeness(
    user: AnalystUser,
    conn: Conn,
    store: StoreDep,
    settings: SettingsDep,
    selection: MeterFilters,
    period_from: PeriodFrom = None,
    period_to: PeriodTo = None,
    by: Annotated[
        list[CompletenessBy] | None,
        Query(description="Group by day and/or region (repeat the parameter); default both."),
    ] = None,
    strict: Annotated[
        bool,
        Query(
            description="Count only reads flagged valid, validated or manually edited "
            "(reads raw readings: slower)."
        ),
    ] = False,
    format: FormatQuery = "json",
) -> AnalyticsPage[CompletenessRow] | StreamingResponse:
    start, end = _span(period_from, period_to, "day")
    dims = by or ["day", "region"]
    query = _built(
        analytics.completeness, selection, start, end, store.backend, by=dims, strict=strict
    )
    return await _answer(query, format, CompletenessRow, conn, store, settings, "completeness")


@router.get(
    "/top-consumers",
    summary="The meters with the largest consumption in a period",
    response_model=AnalyticsPage[TopRow],
    responses=_FILES,
)
async def top_consumers(
    user: AnalystUser,
    conn: Conn,
    store: StoreDep,
    settings: SettingsDep,
    selection: Filters,
    period_from: PeriodFrom = None,
    period_to: PeriodTo = None,
    n: Annotated[int, Query(ge=1, le=MAX_N, description="How many meters.")] = 100,
    format: FormatQuery = "json",
) -> AnalyticsPage[TopRow] | StreamingResponse:
    start, end = _span(period_from, period_to, "day")
    start, end = floor(start, "15min"), floor(end, "15min")
    if start >= end:
        raise invalid("bad-period", "the period must span at least 15 minutes")
    query = _built(analytics.top_consumers, selection, start, end, store.backend, n=n)
    size = coarsest(start, end)
    return await _answer(query, format, TopRow, conn, store, settings, f"top-consumers-{size}")


@router.get(
    "/load-profile",
    summary="Mean consumption per local hour of day, by tariff plan",
    response_model=AnalyticsPage[ProfileRow],
    responses=_FILES,
)
async def load_profile(
    user: AnalystUser,
    conn: Conn,
    store: StoreDep,
    settings: SettingsDep,
    selection: Filters,
    period_from: PeriodFrom = None,
    period_to: PeriodTo = None,
    format: FormatQuery = "json",
) -> AnalyticsPage[ProfileRow] | StreamingResponse:
    start, end = _span(period_from, period_to, "hour")
    query = _built(analytics.load_profile, selection, start, end, store.backend)
    return await _answer(query, format, ProfileRow, conn, store, settings, "load-profile")
