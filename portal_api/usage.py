"""Turning query parameters into a consumption window, and the window into
buckets; shared by the consumption, export and analyst routes."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Annotated, Literal

from fastapi import Query, Request

from drivers.domain import KYIV
from ingest.portal import Conn
from ingest.portal.accounts import Point
from ingest.portal.consumption import Bucket, GroupBy, Watermarks, point_consumption
from ingest.store import Store
from portal_api import points
from portal_api.errors import invalid

EARLIEST = datetime(2000, 1, 1, tzinfo=UTC)
LATEST = datetime(2100, 1, 1, tzinfo=UTC)

_DEFAULT_SPAN: dict[str, timedelta] = {
    "15min": timedelta(days=1),
    "hour": timedelta(days=2),
    "day": timedelta(days=31),
    "week": timedelta(weeks=13),
    "month": timedelta(days=366),
    "quarter": timedelta(days=731),
    "year": timedelta(days=5 * 366),
}
_MAX_SPAN: dict[str, timedelta] = {
    "15min": timedelta(days=93),
    "hour": timedelta(days=93),
    "day": timedelta(days=1100),
    "week": timedelta(days=3700),
    "month": timedelta(days=7400),
    "quarter": timedelta(days=7400),
    "year": timedelta(days=36600),
}

PeriodFrom = Annotated[
    datetime | None,
    Query(
        description="Inclusive start; rounded down to the bucket start. Without an offset it "
        "is Kyiv local time. Default: a span before period_to that suits group_by.",
        examples=["2026-01-01T00:00:00+02:00"],
    ),
]
PeriodTo = Annotated[
    datetime | None,
    Query(
        description="Exclusive end; rounded up to a bucket boundary. Default: now.",
        examples=["2026-02-01T00:00:00+02:00"],
    ),
]
GroupByQuery = Annotated[
    Literal["hour", "day", "week", "month", "quarter", "year"],
    Query(description="Bucket size, in Kyiv local time."),
]
OrderBy = Annotated[
    Literal["period", "-period"], Query(description="Oldest first, or newest first (default).")
]
PageSize = Annotated[int, Query(ge=1, le=25000, description="Results per page.")]
PageNumber = Annotated[int, Query(ge=1, le=1_000_000, description="1-based page.")]


@dataclass(frozen=True, slots=True)
class Window:
    start: datetime
    end: datetime
    group_by: GroupBy


def _aware(value: datetime) -> datetime:
    return value if value.tzinfo is not None else value.replace(tzinfo=KYIV)


def window(period_from: datetime | None, period_to: datetime | None, group_by: GroupBy) -> Window:
    """Validate the range (aware, ordered, inside 2000..2100, not too long for
    the bucket size) and fill in the defaults."""
    start, end = span(period_from, period_to, group_by, named=f"group_by={group_by}")
    return Window(start=start, end=end, group_by=group_by)


def span(
    period_from: datetime | None, period_to: datetime | None, size: str, *, named: str
) -> tuple[datetime, datetime]:
    """Aware, ordered bounds inside 2000..2100, no longer than bucket ``size``
    allows (``named`` says the size in the error). Naive times are Kyiv local;
    the defaults end now and span the size's default."""
    end = _aware(period_to) if period_to is not None else datetime.now(UTC)
    start = _aware(period_from) if period_from is not None else None
    for value in (start, end):
        if value is not None and not EARLIEST <= value <= LATEST:
            raise invalid("bad-period", "periods must lie between 2000-01-01 and 2100-01-01")
    if start is None:
        start = max(EARLIEST, end - _DEFAULT_SPAN[size])
    if start >= end:
        raise invalid("bad-period", "period_from must be before period_to")
    if end - start > _MAX_SPAN[size]:
        raise invalid("period-too-long", f"at most {_MAX_SPAN[size].days} days with {named}")
    return start, end


async def buckets(request: Request, conn: Conn, point: Point, w: Window) -> list[Bucket]:
    """The point's buckets of ``w``, with the rollup watermarks read along with
    the point, on the app's store (its backend picks the query's form)."""
    store: Store = request.app.state.store
    return await point_consumption(
        conn,
        stays=point.stays,
        plan=point.tariff_plan,
        zone_names=points.zone_names(point),
        start=w.start,
        end=w.end,
        group_by=w.group_by,
        watermarks=Watermarks(point.day_watermark, point.month_watermark),
        backend=store.backend,
    )
