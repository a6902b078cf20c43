"""Consumption per bucket from the register values at bucket starts only.

A bucket's consumption (``usage``'s definition) depends on two values: the
first read in the bucket and the first read of the next bucket that has reads
(or, with none, the bucket's own last read). For buckets made of whole rollup
rows, the first read of a bucket is in the rollup row at the bucket's start,
so a fleet's monthly figures need one daily row per meter, zone and month
instead of all thirty. For a fleet-wide selection the rows at ``%(starts)s``
are fetched in one indexed pass ("hits"), and where a meter has no row at a
start (no reads that day) an indexed probe finds its first row inside the
bucket; a narrow selection (a point, a meter, an address prefix) is probed for
every bucket. The bucket's last read is probed only where no later bucket has
reads. Raw readings are probed directly.

Same figures as the full scan, without the reads count.
"""

from __future__ import annotations

import itertools
from collections.abc import Sequence
from datetime import datetime

from psycopg import sql

from ingest.analytics import selection as sel
from ingest.analytics import sources
from ingest.analytics.buckets import Table
from ingest.analytics.usage import Usage, advance_sql
from ingest.migrate import Backend


def boundary_usage(
    selection: sel.Selection,
    bounds: Sequence[datetime],
    table: Table,
    backend: Backend,
) -> Usage:
    """The ``usage`` CTE chain (without ``n``) for the buckets ``[bounds[i],
    bounds[i+1])``; the last of them is only looked at for the value after the
    others (the look-ahead bucket). Every bound must be a row start of ``table``."""
    if len(bounds) < 3 or any(a >= b for a, b in itertools.pairwise(bounds)):
        raise ValueError("need at least three increasing bounds")
    # Fleet-wide selections read the rollup rows at the bucket starts in one pass;
    # a few meters (one point, one meter, one street) are cheaper to probe.
    narrow = any(v is not None for v in (selection.eic, selection.serial, selection.address))
    hits = None if narrow else sources.hits(table, backend)
    hit_join = (
        sql.SQL(
            "LEFT JOIN hits h ON h.meter_id = s.meter_id AND h.register = s.register"
            " AND h.bucket = s.lo"
        )
        if hits is not None
        else sql.SQL("")
    )
    first = (
        sql.SQL("coalesce(h.first_wh, {probe})") if hits is not None else sql.SQL("{probe}")
    ).format(probe=sources.probe_first(table, backend, after_hit=hits is not None))
    # The zone columns travel along (no join back to zones): the planner cannot
    # estimate these CTEs and would pick a nested loop for a join.
    ctes = sql.SQL(
        """{zones},
spans AS (
    SELECT lo, hi FROM (
        SELECT b AS lo, lead(b) OVER (ORDER BY b) AS hi
        FROM unnest(%(bounds)s::timestamptz[]) AS b
    ) AS t
    WHERE hi IS NOT NULL
),
{hits_cte}
firsts AS MATERIALIZED (  -- materialized: each probe runs once
    SELECT s.*, {first} AS first_wh
    FROM (SELECT z.*, sp.lo, sp.hi FROM zones z CROSS JOIN spans sp) AS s
    {hit_join}
),
steps AS (
    SELECT *, lead(first_wh) OVER (PARTITION BY meter_id, register ORDER BY lo) AS next_wh
    FROM firsts
    WHERE first_wh IS NOT NULL
),
ends AS MATERIALIZED (  -- materialized: the probe must run once, not in every CASE arm
    SELECT s.*, coalesce(s.next_wh, {last}) - s.first_wh AS diff
    FROM steps s
    WHERE s.lo >= %(start)s AND s.lo < %(end)s
),
usage AS (
    SELECT meter_id, serial, eic, region, address, plan, register, zone, lo AS bucket,
           {wh} AS wh
    FROM ends e
)"""
    ).format(
        zones=sel.zones_cte(selection),
        hits_cte=sql.SQL("hits AS (\n    {}\n),").format(hits) if hits is not None else sql.SQL(""),
        first=first,
        hit_join=hit_join,
        last=sources.probe_last(table, backend),
        wh=advance_sql("e.diff", "e.rollover_wh"),
    )
    params = {
        **sel.params(selection),
        "bounds": list(bounds),
        "starts": list(bounds[:-1]),
        "start": bounds[0],
        "end": bounds[-2],
    }
    return Usage(
        ctes=ctes, params=params, table=table, watermark=sources.uses_watermark(table, backend)
    )
