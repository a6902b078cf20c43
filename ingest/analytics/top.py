"""The meters that consumed most in a period.

A meter's consumption in ``[start, end)`` is the period taken as one bucket,
summed over its zone registers: the register value at the first read at or
after ``end`` (looking one bucket of the period's grain past it) minus the
value at the first read in the period; with no read after the end, the last
read in the period stands in. A register that went backwards implausibly
makes the meter's figure unknown (NULL, ranked last). Only values at the two
ends are needed, so the period's grain decides the source: month or day
bounds read the rollup rows at the bounds, hour or 15-minute bounds probe raw
readings by index.
"""

from __future__ import annotations

from datetime import datetime

from psycopg import sql

from ingest.analytics.boundaries import boundary_usage
from ingest.analytics.buckets import coarsest, following, table_for
from ingest.analytics.query import Column, Query
from ingest.analytics.selection import Selection
from ingest.migrate import Backend

MAX_N = 10_000

COLUMNS = (
    Column(name="rank", kind="int"),
    Column(name="serial", kind="text"),
    Column(name="eic", kind="text"),
    Column(name="region", kind="text"),
    Column(name="address", kind="text"),
    Column(name="plan", kind="text"),
    Column(name="wh", kind="wh"),
)


def top_consumers(
    selection: Selection,
    start: datetime,
    end: datetime,
    backend: Backend,
    *,
    n: int = 100,
    rollups: bool = True,
) -> Query:
    """The ``n`` selected meters with the most consumption in ``[start, end)``
    (bounds on 15-minute boundaries), largest first; ties by serial."""
    if not 1 <= n <= MAX_N:
        raise ValueError(f"n must be 1..{MAX_N}")
    if start >= end:
        raise ValueError("start must be before end")
    size = coarsest(start, end)
    table = table_for(size, backend, rollups=rollups)
    u = boundary_usage(selection, [start, end, following(end, size)], table, backend)
    statement = sql.SQL(
        """WITH {ctes},
totals AS (
    SELECT meter_id, serial, eic, region, address, plan,
           CASE WHEN count(wh) = count(*) THEN sum(wh)::bigint END AS wh
    FROM usage
    GROUP BY meter_id, serial, eic, region, address, plan
)
SELECT row_number() OVER (ORDER BY wh DESC NULLS LAST, serial) AS rank,
       serial, eic, region, address, plan, wh
FROM totals
ORDER BY wh DESC NULLS LAST, serial
LIMIT %(n)s"""
    ).format(ctes=u.ctes)
    return Query(
        statement=statement, params={**u.params, "n": n}, columns=COLUMNS, table=u.table,
        watermark=u.watermark,
    )  # fmt: skip
