"""Consumption aggregated by bucket and by zone, region or tariff plan.

Each selected meter first gets one value per bucket and group (the sum of its
zone registers in the group); a meter with a register that went backwards
implausibly in that bucket is left out of the group. Then per bucket and group:
how many meters, their sum (integer Wh), mean, median and 95th percentile.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Literal, get_args

from psycopg import sql

from ingest.analytics.boundaries import boundary_usage
from ingest.analytics.buckets import end_sql, following, grid, table_for
from ingest.analytics.query import Column, Query
from ingest.analytics.selection import Selection
from ingest.analytics.usage import Period, Usage, usage
from ingest.migrate import Backend

Dimension = Literal["zone", "region", "plan"]
DIMENSIONS: tuple[Dimension, ...] = get_args(Dimension)

METRICS = (
    Column(name="meters", kind="int"),
    Column(name="sum_wh", kind="wh"),
    Column(name="mean_wh", kind="mean_wh"),
    Column(name="p50_wh", kind="mean_wh"),
    Column(name="p95_wh", kind="mean_wh"),
)


def aggregates(
    selection: Selection,
    period: Period,
    backend: Backend,
    *,
    by: Sequence[Dimension] = ("zone",),
    rollups: bool = True,
) -> Query:
    """Per bucket and each combination of the ``by`` dimensions (none: the whole
    selection per bucket)."""
    dims = tuple(dict.fromkeys(by))
    if not set(dims) <= set(DIMENSIONS):
        raise ValueError(f"unknown dimension in {by!r}; choose from {DIMENSIONS}")
    u = period_usage(selection, period, backend, rollups=rollups)
    keys = sql.SQL("").join(sql.SQL(", {}").format(sql.Identifier(d)) for d in dims)
    statement = sql.SQL(
        """WITH {ctes},
per_meter AS (
    SELECT bucket{keys}, meter_id, sum(wh)::bigint AS wh
    FROM usage
    GROUP BY bucket{keys}, meter_id
    HAVING count(wh) = count(*)
)
SELECT bucket AS interval_start, {end} AS interval_end{keys},
       count(*) AS meters,
       sum(wh)::bigint AS sum_wh,
       avg(wh)::float8 AS mean_wh,
       percentile_cont(0.5) WITHIN GROUP (ORDER BY wh) AS p50_wh,
       percentile_cont(0.95) WITHIN GROUP (ORDER BY wh) AS p95_wh
FROM per_meter
GROUP BY bucket{keys}
ORDER BY bucket{keys}"""
    ).format(ctes=u.ctes, keys=keys, end=end_sql(period.size, "bucket"))
    columns = (
        Column(name="interval_start", kind="time"),
        Column(name="interval_end", kind="time"),
        *(Column(name=d, kind="text") for d in dims),
        *METRICS,
    )
    return Query(
        statement=statement, params=u.params, columns=columns, table=u.table,
        watermark=u.watermark,
    )  # fmt: skip


def period_usage(selection: Selection, period: Period, backend: Backend, *, rollups: bool) -> Usage:
    """Rollup buckets from their start rows (``boundaries``); raw ones by scanning."""
    table = table_for(period.size, backend, rollups=rollups)
    if table == "readings":
        return usage(selection, period, backend, rollups=rollups)
    bounds = [*grid(period.start, period.end, period.size), period.end]
    bounds.append(following(period.end, period.size))
    return boundary_usage(selection, bounds, table, backend)
