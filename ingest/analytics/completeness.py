"""Data completeness: the share of installed meters with a read on each local day.

A meter is expected on a day for each of its installations that covers part
of the day (a meter moved that day counts at both points, reported or not).
It reports on the day when the store holds at least one read of the selected
source for it that day. By default that comes from the daily rollup, which
counts every stored read: the writer has already turned away what fails validation (unknown meter or
register, negative, past the rollover, in the future) into dead letters.
``strict`` counts only reads flagged valid, validated or manually edited; the
rollups carry no quality, so strict completeness reads raw ``readings``.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from typing import Literal, get_args

from psycopg import sql

from drivers.domain import Quality
from ingest.analytics.buckets import Table, bucket_sql
from ingest.analytics.query import Column, Query
from ingest.analytics.selection import Selection, params, point_filters
from ingest.analytics.usage import Period
from ingest.migrate import Backend

Dimension = Literal["day", "region"]
DIMENSIONS: tuple[Dimension, ...] = get_args(Dimension)

STRICT_QUALITIES = (Quality.VALID, Quality.MANUALLY_EDITED, Quality.VALIDATED)


_LATERAL = """SELECT d.day_start, i.region, count(*) AS reporting
    FROM installed i
    CROSS JOIN LATERAL (
        SELECT t.bucket AS day_start FROM readings_daily_mat t
        WHERE t.meter_id = i.meter_id AND t.source = %(source)s
          AND t.bucket >= i.first_day AND t.bucket < least(i.end_day, %(wm)s)
          AND %(start)s < %(wm)s
        UNION  -- one row per day, whatever the registers
        SELECT date_trunc('day', r.read_at, 'Europe/Kyiv') FROM readings r
        WHERE r.meter_id = i.meter_id AND r.source = %(source)s
          AND r.read_at >= greatest(i.first_day, %(wm)s) AND r.read_at < i.end_day
          AND %(wm)s < %(end)s
    ) AS d
    GROUP BY 1, 2"""

_SET = """SELECT r.day_start, i.region, count(*) AS reporting
    FROM (SELECT DISTINCT day_start, meter_id FROM ({days}) AS t) AS r
    JOIN installed i
      ON i.meter_id = r.meter_id AND r.day_start >= i.first_day AND r.day_start < i.end_day
    GROUP BY 1, 2"""


def _reporting(table: Table, backend: Backend, *, strict: bool) -> sql.Composable:
    """Per local day and region, the installations whose meter has a read that day.

    The daily rollup is read in its two halves around the watermark (see
    ``sources``). Plain PostgreSQL: per installation, one range of the
    materialized table's primary key (meter_id first; an index-only scan once
    vacuumed), with no sort or hash of the period's rows (a pass over them with
    DISTINCT took 2-4 times longer). TimescaleDB's continuous aggregate is
    chunked, which makes a range per installation cost a scan per chunk: one
    pass over the period's rows there instead (on 2,000 meters x 90 days ~3x
    faster than the ranges). Raw readings likewise."""
    if table == "readings_daily" and backend == "postgresql":
        return sql.SQL(_LATERAL)
    days: sql.Composable
    if table == "readings_daily":
        days = sql.SQL(
            """SELECT t.bucket AS day_start, t.meter_id FROM readings_daily_mat t
        WHERE t.source = %(source)s AND t.bucket >= %(start)s
          AND t.bucket < least(%(end)s, %(wm)s) AND %(start)s < %(wm)s
        UNION ALL
        SELECT {day}, r.meter_id FROM readings r
        WHERE r.source = %(source)s AND r.read_at >= greatest(%(start)s, %(wm)s)
          AND r.read_at < %(end)s AND r.read_at >= %(wm)s AND %(wm)s < %(end)s"""
        ).format(day=bucket_sql("day", "r.read_at", backend))
    else:
        quality = sql.SQL("AND r.quality = ANY(%(qualities)s)") if strict else sql.SQL("")
        days = sql.SQL(
            """SELECT {day} AS day_start, r.meter_id FROM readings r
        WHERE r.source = %(source)s AND r.read_at >= %(start)s AND r.read_at < %(end)s
          {quality}"""
        ).format(day=bucket_sql("day", "r.read_at", backend), quality=quality)
    return sql.SQL(_SET).format(days=days)


def completeness(
    selection: Selection,
    start: datetime,
    end: datetime,
    backend: Backend,
    *,
    by: Sequence[Dimension] = ("day", "region"),
    rollups: bool = True,
    strict: bool = False,
) -> Query:
    """Meters expected, meters reporting and their share per local day in
    ``[start, end)`` (rounded out to whole days) and/or region. Over several days
    a group's figures count meter-days."""
    dims = tuple(dict.fromkeys(by))
    if not dims or not set(dims) <= set(DIMENSIONS):
        raise ValueError(f"choose one or more of {DIMENSIONS}, got {by!r}")
    if selection.zone is not None:
        raise ValueError("completeness is per meter: a zone filter does not apply")
    period = Period.covering(start, end, "day")
    table: Table = "readings_daily" if rollups and not strict else "readings"
    keys = sql.SQL(", ").join(
        sql.SQL("e.day_start AS day") if d == "day" else sql.SQL("e.region") for d in dims
    )
    group = sql.SQL(", ").join(sql.SQL(str(i + 1)) for i in range(len(dims)))
    statement = sql.SQL(
        """WITH days AS (
    SELECT d AT TIME ZONE 'Europe/Kyiv' AS day_start
    FROM generate_series((%(start)s::timestamptz AT TIME ZONE 'Europe/Kyiv'),
                         (%(end)s::timestamptz AT TIME ZONE 'Europe/Kyiv') - INTERVAL '1 day',
                         INTERVAL '1 day') AS d
),
installed AS (  -- each installation's local days inside the period: [first_day, end_day)
    SELECT i.meter_id, p.region,
           greatest(date_trunc('day', i.installed_at, 'Europe/Kyiv'), %(start)s) AS first_day,
           least(coalesce((date_trunc('day', i.removed_at - INTERVAL '1 microsecond',
                                      'Europe/Kyiv') AT TIME ZONE 'Europe/Kyiv'
                           + INTERVAL '1 day') AT TIME ZONE 'Europe/Kyiv', 'infinity'),
                 %(end)s) AS end_day
    FROM meter_installations i
    JOIN meters m ON m.id = i.meter_id
    JOIN metering_points p ON p.id = i.point_id
    WHERE i.installed_at < %(end)s AND (i.removed_at IS NULL OR i.removed_at > %(start)s)
      AND {filters}
),
changes AS (  -- installations starting (+1) and ending (-1) per region and day
    SELECT region, day, sum(delta) AS delta FROM (
        SELECT region, first_day AS day, 1 AS delta FROM installed
        UNION ALL
        SELECT region, end_day, -1 FROM installed WHERE end_day < %(end)s
    ) AS e
    GROUP BY 1, 2
),
expected AS (
    SELECT d.day_start, r.region,
           sum(coalesce(c.delta, 0)) OVER (PARTITION BY r.region ORDER BY d.day_start) AS meters
    FROM days d CROSS JOIN (SELECT DISTINCT region FROM installed) AS r
    LEFT JOIN changes c ON c.region = r.region AND c.day = d.day_start
),
reporting AS (
    {reporting}
)
SELECT {keys}, sum(e.meters)::bigint AS meters,
       coalesce(sum(p.reporting), 0)::bigint AS reporting,
       coalesce(sum(p.reporting), 0)::float8 / sum(e.meters) AS share
FROM expected e
LEFT JOIN reporting p ON p.day_start = e.day_start AND p.region = e.region
WHERE e.meters > 0
GROUP BY {group}
ORDER BY {group}"""
    ).format(
        filters=point_filters(selection),
        reporting=_reporting(table, backend, strict=strict),
        keys=keys,
        group=group,
    )
    columns = (
        *(Column(name=d, kind="time" if d == "day" else "text") for d in dims),
        Column(name="meters", kind="int"),
        Column(name="reporting", kind="int"),
        Column(name="share", kind="float"),
    )
    query_params = {
        **params(selection),
        "start": period.start,
        "end": period.end,
        "qualities": [int(q) for q in STRICT_QUALITIES],
    }
    return Query(
        statement=statement, params=query_params, columns=columns, table=table,
        watermark=table == "readings_daily",
    )  # fmt: skip
