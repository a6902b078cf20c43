"""Consumption series: one row per meter, zone and bucket."""

from __future__ import annotations

from psycopg import sql

from ingest.analytics.buckets import end_sql
from ingest.analytics.query import Column, Query
from ingest.analytics.selection import Selection
from ingest.analytics.usage import Period, usage
from ingest.migrate import Backend

COLUMNS = (
    Column(name="interval_start", kind="time"),
    Column(name="interval_end", kind="time"),
    Column(name="serial", kind="text"),
    Column(name="eic", kind="text"),
    Column(name="region", kind="text"),
    Column(name="plan", kind="text"),
    Column(name="zone", kind="text"),
    Column(name="register", kind="int"),
    Column(name="reads", kind="int"),
    Column(name="wh", kind="wh"),
)


def series(
    selection: Selection, period: Period, backend: Backend, *, rollups: bool = True
) -> Query:
    """Each selected meter's consumption per zone register and bucket, oldest
    bucket first (``wh`` NULL where the register went backwards implausibly)."""
    u = usage(selection, period, backend, rollups=rollups)
    statement = sql.SQL(
        """WITH {ctes}
SELECT bucket AS interval_start, {end} AS interval_end, serial, eic, region, plan, zone,
       register, n AS reads, wh
FROM usage
ORDER BY bucket, serial, register"""
    ).format(ctes=u.ctes, end=end_sql(period.size, "bucket"))
    return Query(
        statement=statement,
        params=u.params,
        columns=COLUMNS,
        table=u.table,
        watermark=u.watermark,
    )
