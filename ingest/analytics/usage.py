"""Consumption per meter, zone register and bucket, for any selection of meters.

The definition is ``ingest.queries``'s, done for many meters at once in SQL: a
bucket's consumption is the register value at the first read of the next
bucket that has reads minus the value at its own first read; the last bucket
before a gap carries the gap's energy, and a bucket with no later read uses its
own last read. To find the value after the period's last bucket the query
looks one bucket past the period end (not further). A drop in the register is
a rollover when adding 10^digits kWh gives less than a tenth of the range;
otherwise the bucket's consumption is NULL (never a guessed reset).

This module computes it by scanning every stored row of the period (the daily
or monthly rollup, or raw readings: ``buckets.table_for``), which also counts
the reads per bucket; ``boundaries`` gets the same figures from the rows at
bucket starts only. With ``rollups=False`` every size is computed from raw
``readings`` (the benchmark's baseline and the tests' cross-check).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

from psycopg import sql

from ingest.analytics import selection as sel
from ingest.analytics import sources
from ingest.analytics.buckets import (
    BucketSize,
    Table,
    bucket_sql,
    ceil,
    floor,
    following,
    grain,
    table_for,
)
from ingest.migrate import Backend


@dataclass(frozen=True, slots=True, kw_only=True)
class Period:
    """Whole local buckets of one size: ``start`` inclusive, ``end`` exclusive."""

    start: datetime
    end: datetime
    size: BucketSize

    def __post_init__(self) -> None:
        if self.start.tzinfo is None or self.end.tzinfo is None:
            raise ValueError("start and end must be timezone-aware")
        if floor(self.start, self.size) != self.start or floor(self.end, self.size) != self.end:
            raise ValueError(f"start and end must be {self.size} bucket boundaries")
        if self.start >= self.end:
            raise ValueError("start must be before end")

    @classmethod
    def covering(cls, start: datetime, end: datetime, size: BucketSize) -> Period:
        """The whole buckets that cover ``[start, end)``."""
        return cls(start=floor(start, size), end=ceil(end, size), size=size)


@dataclass(frozen=True, slots=True, kw_only=True)
class Usage:
    """CTEs ending in ``usage`` (meter_id, serial, eic, region, address, plan,
    register, zone, bucket, wh; the scan also has n) with their parameters."""

    ctes: sql.Composable
    params: dict[str, Any]
    table: Table
    watermark: bool
    """The SQL needs ``%(wm)s``, the daily rollup's watermark."""


_RAW_FIRST_LAST = ("r.value_wh", "r.read_at")
_ROLLUP_FIRST = ("t.first_wh", "t.first_at")
_ROLLUP_LAST = ("t.last_wh", "t.last_at")


def _base(size: BucketSize, table: Table, backend: Backend) -> sql.Composable:
    """Per meter, zone register and ``size`` bucket in ``[lo, hi)``: first and
    last register value and the number of reads."""
    if table == "readings":
        return sql.SQL(
            """SELECT r.meter_id, r.register, {bucket} AS bucket, {first_last}, count(*) AS n
    FROM readings r JOIN zones z ON {on}
    WHERE r.source = %(source)s AND r.read_at >= %(lo)s AND r.read_at < %(hi)s
    GROUP BY 1, 2, 3"""
        ).format(
            bucket=bucket_sql(size, "r.read_at", backend),
            first_last=sources.first_last(backend, _RAW_FIRST_LAST, _RAW_FIRST_LAST),
            on=sources.ZONE_JOIN.format(t=sql.Identifier("r")),
        )
    rows = sources.rows(table, backend)
    if grain(table) == size:
        return rows
    return sql.SQL(
        """SELECT t.meter_id, t.register, {bucket} AS bucket, {first_last},
           sum(t.n)::bigint AS n
    FROM ({rows}) AS t
    GROUP BY 1, 2, 3"""
    ).format(
        bucket=bucket_sql(size, "t.bucket", backend),
        first_last=sources.first_last(
            backend, ("t.first_wh", "t.first_at"), ("t.last_wh", "t.last_at")
        ),
        rows=rows,
    )


def usage(
    selection: sel.Selection, period: Period, backend: Backend, *, rollups: bool = True
) -> Usage:
    """The ``usage`` CTE chain for ``selection`` over ``period``, scanning every
    stored row of the period (gives the number of reads per bucket too)."""
    table = table_for(period.size, backend, rollups=rollups)
    ctes = sql.SQL(
        """{zones},
base AS (
    {base}
),
steps AS (
    SELECT meter_id, register, bucket, n,
           coalesce(lead(first_wh) OVER w, last_wh) - first_wh AS diff
    FROM base
    WINDOW w AS (PARTITION BY meter_id, register ORDER BY bucket)
),
usage AS (
    SELECT z.meter_id, z.serial, z.eic, z.region, z.address, z.plan, z.register, z.zone,
           s.bucket, s.n, {wh} AS wh
    FROM steps s JOIN zones z ON z.meter_id = s.meter_id AND z.register = s.register
    WHERE s.bucket >= %(start)s AND s.bucket < %(end)s
)"""
    ).format(
        zones=sel.zones_cte(selection),
        base=_base(period.size, table, backend),
        wh=advance_sql("s.diff", "z.rollover_wh"),
    )
    params = {
        **sel.params(selection),
        "start": period.start,
        "end": period.end,
        "lo": period.start,
        "hi": following(period.end, period.size),
    }
    return Usage(
        ctes=ctes, params=params, table=table, watermark=sources.uses_watermark(table, backend)
    )


def advance_sql(diff: str, rollover: str) -> sql.Composable:
    """SQL: the register advance for the difference in column ``diff``: itself
    when not negative, across one rollover (column ``rollover``, Wh) when that
    gives less than a tenth of the range, else NULL."""
    return sql.SQL(
        """CASE WHEN {d} >= 0 THEN {d}
                WHEN {d} + {r} >= 0 AND {d} + {r} < {r} / 10 THEN {d} + {r}
           END"""
    ).format(d=sql.SQL(diff), r=sql.SQL(rollover))
