"""Load profile: mean consumption per local hour of the day, by tariff plan.

Each meter's hourly consumption (its zone registers summed) is one sample of
its local hour of day; the profile is the mean over meters and days. On the
25-hour day in October the hour 03:00 occurs twice and gives two samples per
meter; on the 23-hour day in March there is no 03:00. Hours come from raw
``readings``: the rollups are daily and monthly.
"""

from __future__ import annotations

from datetime import datetime

from psycopg import sql

from ingest.analytics.query import Column, Query
from ingest.analytics.selection import Selection
from ingest.analytics.usage import Period, usage
from ingest.migrate import Backend

COLUMNS = (
    Column(name="plan", kind="text"),
    Column(name="hour", kind="int"),
    Column(name="samples", kind="int"),
    Column(name="mean_wh", kind="mean_wh"),
)


def load_profile(selection: Selection, start: datetime, end: datetime, backend: Backend) -> Query:
    """Per plan and local hour 0..23 over ``[start, end)`` (rounded out to whole
    hours): the number of meter-hours and their mean consumption."""
    period = Period.covering(start, end, "hour")
    u = usage(selection, period, backend)
    statement = sql.SQL(
        """WITH {ctes},
per_meter AS (
    SELECT meter_id, plan, bucket, sum(wh)::bigint AS wh
    FROM usage
    GROUP BY meter_id, plan, bucket
    HAVING count(wh) = count(*)
)
SELECT plan, extract(hour FROM bucket AT TIME ZONE 'Europe/Kyiv')::int AS hour,
       count(*) AS samples, avg(wh)::float8 AS mean_wh
FROM per_meter
GROUP BY 1, 2
ORDER BY 1, 2"""
    ).format(ctes=u.ctes)
    return Query(
        statement=statement,
        params=u.params,
        columns=COLUMNS,
        table=u.table,
        watermark=u.watermark,
    )
