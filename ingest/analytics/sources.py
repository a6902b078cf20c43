"""SQL fragments that read the stored relations for the analytics queries.

Row fragments join the ``zones`` CTE (see ``selection``) as ``z``; the
boundary strategy's probes are scalar subqueries on the current row ``s``
(meter_id, register, lo, hi). All filter on ``%(source)s``.

The daily rollup is read in two halves on both backends: the materialized
``readings_daily_mat`` below the rollup watermark and raw ``readings`` at or
above it, with the watermark as a constant (``%(wm)s``, which the runner reads
with ``rollup_watermark()`` just before the query; see ``Query.watermark``).
That is the ``readings_daily`` view's own definition (migration 0006), with
bounds the planner can use on the time range asked for: through the view, a
quarter that ended months ago would still aggregate today's raw reads (on
TimescaleDB a filter on the time-zoned bucket does not reach the raw chunks). A
half that cannot hold rows is cut by a comparison of two parameters
(``%(wm)s < %(hi)s``), which the planner folds to false, so it plans nothing
for it. Raw halves also carry ``read_at >= %(wm)s`` on its own, a constant
TimescaleDB excludes chunks with before the query runs.
"""

from __future__ import annotations

from psycopg import sql

from ingest.analytics.buckets import Table, bucket_sql
from ingest.migrate import Backend

ZONE_JOIN = sql.SQL("z.meter_id = {t}.meter_id AND z.register = {t}.register")


def _on(alias: str) -> sql.Composable:
    return ZONE_JOIN.format(t=sql.Identifier(alias))


def first_last(backend: Backend, first: tuple[str, str], last: tuple[str, str]) -> sql.Composable:
    """``first_wh`` and ``last_wh`` aggregates from (value, time) column pairs."""
    fv, ft, lv, lt = (sql.SQL(c) for c in (*first, *last))
    if backend == "timescaledb":
        template = "first({fv}, {ft}) AS first_wh, last({lv}, {lt}) AS last_wh"
    else:
        template = (
            "(array_agg({fv} ORDER BY {ft}))[1] AS first_wh,"
            " (array_agg({lv} ORDER BY {lt} DESC))[1] AS last_wh"
        )
    return sql.SQL(template).format(fv=fv, ft=ft, lv=lv, lt=lt)


def daily_rows(backend: Backend) -> sql.Composable:
    """Daily rollup rows of the selected zone registers with bucket in ``[lo, hi)``:
    meter_id, register, bucket, first_at, first_wh, last_at, last_wh, n."""
    return sql.SQL(
        """SELECT t.meter_id, t.register, t.bucket, t.first_at, t.first_wh, t.last_at,
           t.last_wh, t.n
    FROM readings_daily_mat t JOIN zones z ON {on}
    WHERE t.source = %(source)s AND t.bucket >= %(lo)s AND t.bucket < least(%(hi)s, %(wm)s)
      AND %(lo)s < %(wm)s
    UNION ALL
    SELECT r.meter_id, r.register, {day}, min(r.read_at), {first_wh}, max(r.read_at),
           {last_wh}, count(*)
    FROM readings r JOIN zones z ON {on_r}
    WHERE r.source = %(source)s AND r.read_at >= greatest(%(lo)s, %(wm)s) AND r.read_at < %(hi)s
      AND r.read_at >= %(wm)s AND %(wm)s < %(hi)s
    GROUP BY 1, 2, 3"""
    ).format(
        on=_on("t"),
        on_r=_on("r"),
        day=bucket_sql("day", "r.read_at", backend),
        first_wh=_first(backend, "r.value_wh", "r.read_at"),
        last_wh=_last(backend, "r.value_wh", "r.read_at"),
    )


def _first(backend: Backend, value: str, at: str) -> sql.Composable:
    v, t = sql.SQL(value), sql.SQL(at)
    if backend == "timescaledb":
        return sql.SQL("first({}, {})").format(v, t)
    return sql.SQL("(array_agg({} ORDER BY {}))[1]").format(v, t)


def _last(backend: Backend, value: str, at: str) -> sql.Composable:
    v, t = sql.SQL(value), sql.SQL(at)
    if backend == "timescaledb":
        return sql.SQL("last({}, {})").format(v, t)
    return sql.SQL("(array_agg({} ORDER BY {} DESC))[1]").format(v, t)


def rows(table: Table, backend: Backend) -> sql.Composable:
    """Rollup rows of ``table`` (the daily rollup) in ``[lo, hi)``."""
    assert table == "readings_daily", table
    return daily_rows(backend)


# --- the boundary strategy (see boundaries.py) ---------------------------------


def hits(table: Table, backend: Backend) -> sql.Composable | None:
    """Rollup rows of the whole fleet whose bucket is one of ``%(starts)s``: the
    first read of each target bucket in the usual case. Not joined to the
    selection on purpose: the planner estimates this scan well, and a join here
    came out at 1 % of the real rows and picked a nested loop (10 M comparisons).
    None for raw readings (probes only)."""
    if table == "readings":
        return None
    return sql.SQL(
        """SELECT t.meter_id, t.register, t.bucket, t.first_wh FROM readings_daily_mat t
    WHERE t.source = %(source)s AND t.bucket = ANY(%(starts)s) AND t.bucket < %(wm)s"""
    )


_RAW_FIRST = """(SELECT r.value_wh FROM readings r
      WHERE r.meter_id = s.meter_id AND r.register = s.register AND r.source = %(source)s
        AND r.read_at >= {lo} AND r.read_at < s.hi
      ORDER BY r.read_at LIMIT 1)"""
_RAW_LAST = """(SELECT r.value_wh FROM readings r
      WHERE r.meter_id = s.meter_id AND r.register = s.register AND r.source = %(source)s
        AND r.read_at >= {lo} AND r.read_at < s.hi
      ORDER BY r.read_at DESC LIMIT 1)"""
_ROLLUP_FIRST = """(SELECT t.first_wh FROM readings_daily_mat t
      WHERE t.meter_id = s.meter_id AND t.register = s.register AND t.source = %(source)s
        AND t.bucket {after} s.lo AND t.bucket < least(s.hi, %(wm)s)
      ORDER BY t.bucket LIMIT 1)"""
_ROLLUP_LAST = """(SELECT t.last_wh FROM readings_daily_mat t
      WHERE t.meter_id = s.meter_id AND t.register = s.register AND t.source = %(source)s
        AND t.bucket >= s.lo AND t.bucket < least(s.hi, %(wm)s)
      ORDER BY t.bucket DESC LIMIT 1)"""
_LIVE_LO = sql.SQL("greatest(s.lo, %(wm)s) AND r.read_at >= %(wm)s")


def probe_first(table: Table, backend: Backend, *, after_hit: bool) -> sql.Composable:
    """Scalar SQL: the register at the first read in ``[s.lo, s.hi)`` of zone
    register ``s.meter_id``/``s.register``. ``after_hit``: a row at ``s.lo`` was
    already looked for, so rollup rows after it only."""
    if table == "readings":
        return sql.SQL(_RAW_FIRST).format(lo=sql.SQL("s.lo"))
    # Each half only where the span reaches it (an empty index range still costs a descent).
    return sql.SQL(
        "coalesce(CASE WHEN s.lo < %(wm)s THEN {mat} END, CASE WHEN s.hi > %(wm)s THEN {live} END)"
    ).format(
        mat=sql.SQL(_ROLLUP_FIRST).format(after=sql.SQL(">" if after_hit else ">=")),
        live=sql.SQL(_RAW_FIRST).format(lo=_LIVE_LO),
    )


def probe_last(table: Table, backend: Backend) -> sql.Composable:
    """Scalar SQL: the register at the last read in ``[s.lo, s.hi)`` of ``s``."""
    if table == "readings":
        return sql.SQL(_RAW_LAST).format(lo=sql.SQL("s.lo"))
    return sql.SQL(
        "coalesce(CASE WHEN s.hi > %(wm)s THEN {live} END, CASE WHEN s.lo < %(wm)s THEN {mat} END)"
    ).format(live=sql.SQL(_RAW_LAST).format(lo=_LIVE_LO), mat=sql.SQL(_ROLLUP_LAST))


def uses_watermark(table: Table, backend: Backend) -> bool:
    """Whether SQL over ``table`` needs ``%(wm)s`` (the daily rollup's watermark)."""
    return table != "readings"
