"""Refreshing the daily/monthly rollups.

TimescaleDB: ``refresh_continuous_aggregate`` over everything older than an
hour (only invalidated buckets are recomputed). Plain PostgreSQL: the same
contract by hand — recompute the local days named in ``rollup_invalidations``
that lie below the new watermark, materialize the days between the old and the
new watermark, recompute the months of those days and the months the watermark
left, and move the watermark (see migrations 0003 and 0008 for the tables).
Between refreshes both backends answer recent buckets live from ``readings``.
The gateway runs ``refresh`` on a schedule; callers that need late data folded
in at once (tests, period close) call it directly.
"""

from __future__ import annotations

import logging
import time
from datetime import datetime, timedelta

import psycopg
from psycopg.rows import TupleRow

from ingest.migrate import Backend

log = logging.getLogger(__name__)

REALTIME_WINDOW = timedelta(hours=1)
"""Buckets that end within this window of now are always computed live."""

_REFRESH_ATTEMPTS = 20
_VIEW_LOCK_TIMEOUT = "5s"
"""Moving the watermark replaces the view: a long query through it holds it up
this long at most; the watermark then moves at the next refresh."""
_LOCK_KEY = 0x726F6C6C  # "roll": one refresher at a time

_DAYS_TO_RECOMPUTE = """
WITH inv AS (
    DELETE FROM rollup_invalidations RETURNING lo, hi
), ranges AS (
    SELECT lo, hi FROM inv WHERE lo < %(new_wm)s
    UNION ALL
    SELECT first_read, %(new_wm)s
    FROM (SELECT min(read_at) AS first_read FROM readings WHERE read_at >= %(old_wm)s) AS f
    WHERE first_read IS NOT NULL AND %(new_wm)s > %(old_wm)s
), local_days AS (
    SELECT DISTINCT d
    FROM ranges,
         generate_series(
             date_trunc('day', lo, 'Europe/Kyiv') AT TIME ZONE 'Europe/Kyiv',
             date_trunc('day', least(hi, %(new_wm)s), 'Europe/Kyiv') AT TIME ZONE 'Europe/Kyiv',
             INTERVAL '1 day') AS g(d)
    WHERE lo IS NOT NULL
)
SELECT d AT TIME ZONE 'Europe/Kyiv', (d + INTERVAL '1 day') AT TIME ZONE 'Europe/Kyiv'
FROM local_days
WHERE d AT TIME ZONE 'Europe/Kyiv' < %(new_wm)s
ORDER BY 1
"""

# One range scan over the invalidated days (BRIN-friendly), keeping only rows of
# those days: a join against the list of days made a nested loop of rows × days.
_FORGET = "DELETE FROM readings_daily_mat WHERE bucket = ANY(%(starts)s::timestamptz[])"

_RECOMPUTE = """
INSERT INTO readings_daily_mat
SELECT meter_id, register, source,
       date_trunc('day', read_at, 'Europe/Kyiv'),
       min(read_at),
       (array_agg(value_wh ORDER BY read_at))[1],
       max(read_at),
       (array_agg(value_wh ORDER BY read_at DESC))[1],
       min(value_wh), max(value_wh), count(*)
FROM readings
WHERE read_at >= %(lo)s AND read_at < %(hi)s
  AND date_trunc('day', read_at, 'Europe/Kyiv') = ANY(%(starts)s::timestamptz[])
GROUP BY meter_id, register, source, date_trunc('day', read_at, 'Europe/Kyiv')
"""


# The months whose materialized row must be made again (migration 0008): those
# of the recomputed days, and those the watermark's month left behind; only
# months wholly below the new watermark's month are kept materialized.
_MONTHS_TO_RECOMPUTE = """
WITH bounds AS (
    SELECT date_trunc('month', %(old_wm)s::timestamptz, 'Europe/Kyiv') AS old_month,
           date_trunc('month', %(new_wm)s::timestamptz, 'Europe/Kyiv') AS new_month
), months AS (
    SELECT date_trunc('month', d, 'Europe/Kyiv') AS m
    FROM unnest(%(starts)s::timestamptz[]) AS d
    UNION
    SELECT g AT TIME ZONE 'Europe/Kyiv'
    FROM bounds,
         generate_series(old_month AT TIME ZONE 'Europe/Kyiv',
                         new_month AT TIME ZONE 'Europe/Kyiv' - INTERVAL '1 month',
                         INTERVAL '1 month') AS g
)
SELECT m
FROM months, bounds
WHERE m < new_month
ORDER BY m
"""


def refresh(conninfo: str, backend: Backend, *, now: datetime | None = None) -> int:
    """Fold everything written so far into the materialized rollups.

    Returns the number of local days recomputed (plain PostgreSQL) or 0.
    """
    with psycopg.connect(conninfo, autocommit=True) as conn:
        if backend == "timescaledb":
            window_end = (now or _db_now(conn)) - REALTIME_WINDOW
            for view in ("readings_daily_mat", "readings_monthly_mat"):
                _refresh_aggregate(conn, view, window_end)
            return 0
        with conn.transaction():
            conn.execute("SELECT pg_advisory_xact_lock(%s)", (_LOCK_KEY,))
            now = now or _db_now(conn)
            row = conn.execute(
                "SELECT watermark, date_trunc('day', %s::timestamptz, 'Europe/Kyiv')"
                " FROM rollup_state",
                (now - REALTIME_WINDOW,),
            ).fetchone()
            assert row is not None
            old_wm, new_wm = row[0], max(row[0], row[1])
            days = conn.execute(_DAYS_TO_RECOMPUTE, {"old_wm": old_wm, "new_wm": new_wm}).fetchall()
            if days:
                bounds = {"starts": [d[0] for d in days], "lo": days[0][0], "hi": days[-1][1]}
                conn.execute(_FORGET, bounds)
                conn.execute(_RECOMPUTE, bounds)
            months = conn.execute(
                _MONTHS_TO_RECOMPUTE,
                {"old_wm": old_wm, "new_wm": new_wm, "starts": [d[0] for d in days]},
            ).fetchall()
            if months:
                conn.execute("SELECT rollup_remake_months(%s)", ([m[0] for m in months],))
            if new_wm != old_wm:
                _move_watermark(conn, new_wm)
            return len(days)


def _move_watermark(conn: psycopg.Connection[TupleRow], watermark: datetime) -> None:
    """Move the watermark (and with it the view's constant), unless a query
    through the view holds it: then below the old watermark nothing changes and
    the days just materialized are recomputed next time."""
    try:
        with conn.transaction():
            conn.execute(f"SET LOCAL lock_timeout = '{_VIEW_LOCK_TIMEOUT}'")
            conn.execute("UPDATE rollup_state SET watermark = %s", (watermark,))
            conn.execute("SET LOCAL lock_timeout = DEFAULT")
    except psycopg.errors.LockNotAvailable:
        log.warning("rollup watermark not moved: readings_daily is busy; next refresh")


def _refresh_aggregate(conn: psycopg.Connection[TupleRow], view: str, window_end: datetime) -> None:
    """Refresh one continuous aggregate, waiting out a concurrent refresh (the
    policy job may be running the same window)."""
    for attempt in range(_REFRESH_ATTEMPTS):
        try:
            conn.execute("CALL refresh_continuous_aggregate(%s, NULL, %s)", (view, window_end))
            return
        except psycopg.errors.LockNotAvailable:
            if attempt == _REFRESH_ATTEMPTS - 1:
                raise
            time.sleep(0.2 * (attempt + 1))


def _db_now(conn: psycopg.Connection[TupleRow]) -> datetime:
    row = conn.execute("SELECT now()").fetchone()
    assert row is not None
    value: datetime = row[0]
    return value
