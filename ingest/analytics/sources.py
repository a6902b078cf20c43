"""SQL fragments that read the stored relations for the analytics queries.

Row fragments join the ``zones`` CTE (see ``selection``) as ``z``; the
boundary strategy's probes are scalar subqueries on the current row ``s``
(meter_id, register, lo, hi). All filter on ``%(source)s``.

Plain PostgreSQL: the ``readings_daily`` view is the materialized table below
the rollup watermark plus a live aggregate of raw readings above it. The
watermark is a subquery inside the view, so the planner cannot bound the live
half and reads every raw row of the fleet (1.6 s at 27 M rows, even when
nothing is live). These fragments read the two halves themselves with the
watermark as a constant (``%(wm)s``, which the runner reads from
``rollup_state`` just before the query; see ``Query.watermark``), which is the
view's own definition with bounds the planner can use. A half that cannot hold
rows is cut by a comparison of two parameters (``%(wm)s < %(hi)s``), which the
planner folds to false, so it plans nothing for it.

TimescaleDB: the continuous aggregate does the same internally (and constifies
its watermark), so the fragments read ``readings_daily``.
"""

from __future__ import annotations

from psycopg import sql

from ingest.analytics.buckets import Table
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
    if backend == "timescaledb":
        return sql.SQL(
            """SELECT t.meter_id, t.register, t.bucket, t.first_at, t.first_wh, t.last_at,
           t.last_wh, t.n
    FROM readings_daily t JOIN zones z ON {on}
    WHERE t.source = %(source)s AND t.bucket >= %(lo)s AND t.bucket < %(hi)s"""
        ).format(on=_on("t"))
    return sql.SQL(
        """SELECT t.meter_id, t.register, t.bucket, t.first_at, t.first_wh, t.last_at,
           t.last_wh, t.n
    FROM readings_daily_mat t JOIN zones z ON {on}
    WHERE t.source = %(source)s AND t.bucket >= %(lo)s AND t.bucket < least(%(hi)s, %(wm)s)
      AND %(lo)s < %(wm)s
    UNION ALL
    SELECT r.meter_id, r.register, date_trunc('day', r.read_at, 'Europe/Kyiv'),
           min(r.read_at), {first_last_wh_1}, max(r.read_at), {first_last_wh_2}, count(*)
    FROM readings r JOIN zones z ON {on_r}
    WHERE r.source = %(source)s AND r.read_at >= greatest(%(lo)s, %(wm)s) AND r.read_at < %(hi)s
      AND %(wm)s < %(hi)s
    GROUP BY 1, 2, 3"""
    ).format(
        on=_on("t"),
        on_r=_on("r"),
        first_last_wh_1=sql.SQL("(array_agg(r.value_wh ORDER BY r.read_at))[1]"),
        first_last_wh_2=sql.SQL("(array_agg(r.value_wh ORDER BY r.read_at DESC))[1]"),
    )


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
    if backend == "timescaledb":
        return sql.SQL(
            """SELECT t.meter_id, t.register, t.bucket, t.first_wh FROM {table} t
    WHERE t.source = %(source)s AND t.bucket = ANY(%(starts)s)"""
        ).format(table=sql.Identifier(table))
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
_ROLLUP_FIRST = """(SELECT t.first_wh FROM {table} t
      WHERE t.meter_id = s.meter_id AND t.register = s.register AND t.source = %(source)s
        AND t.bucket {after} s.lo AND t.bucket < {hi}
      ORDER BY t.bucket LIMIT 1)"""
_ROLLUP_LAST = """(SELECT t.last_wh FROM {table} t
      WHERE t.meter_id = s.meter_id AND t.register = s.register AND t.source = %(source)s
        AND t.bucket >= s.lo AND t.bucket < {hi}
      ORDER BY t.bucket DESC LIMIT 1)"""


def probe_first(table: Table, backend: Backend, *, after_hit: bool) -> sql.Composable:
    """Scalar SQL: the register at the first read in ``[s.lo, s.hi)`` of zone
    register ``s.meter_id``/``s.register``. ``after_hit``: a row at ``s.lo`` was
    already looked for, so rollup rows after it only."""
    after = sql.SQL(">" if after_hit else ">=")
    if table == "readings":
        return sql.SQL(_RAW_FIRST).format(lo=sql.SQL("s.lo"))
    if backend == "timescaledb":
        # Through the real-time aggregate a probe costs ~0.06 ms even when the span
        # is empty: skip spans that start in the future (the writer accepts reads
        # a few minutes ahead of the clock).
        return sql.SQL("CASE WHEN s.lo <= now() + INTERVAL '1 hour' THEN {probe} END").format(
            probe=sql.SQL(_ROLLUP_FIRST).format(
                table=sql.Identifier(table), after=after, hi=sql.SQL("s.hi")
            )
        )
    # Each half only where the span reaches it (an empty index range still costs a descent).
    return sql.SQL(
        "coalesce(CASE WHEN s.lo < %(wm)s THEN {mat} END, CASE WHEN s.hi > %(wm)s THEN {live} END)"
    ).format(
        mat=sql.SQL(_ROLLUP_FIRST).format(
            table=sql.Identifier("readings_daily_mat"),
            after=after,
            hi=sql.SQL("least(s.hi, %(wm)s)"),
        ),
        live=sql.SQL(_RAW_FIRST).format(lo=sql.SQL("greatest(s.lo, %(wm)s)")),
    )


def probe_last(table: Table, backend: Backend) -> sql.Composable:
    """Scalar SQL: the register at the last read in ``[s.lo, s.hi)`` of ``s``."""
    if table == "readings":
        return sql.SQL(_RAW_LAST).format(lo=sql.SQL("s.lo"))
    if backend == "timescaledb":
        # A running bucket's last read is recent: look in the raw chunks of the
        # last two days first. Bounded by now() (which TimescaleDB folds before
        # choosing chunks), the probe skips the other chunks (0.01 ms against
        # 0.15 ms through the real-time aggregate, 0.55 ms with per-row bounds).
        return sql.SQL(
            "coalesce(CASE WHEN s.hi > now() - INTERVAL '2 days' THEN {recent} END, {rollup})"
        ).format(
            recent=sql.SQL(_RAW_LAST).format(
                lo=sql.SQL("s.lo AND r.read_at >= now() - INTERVAL '2 days'")
            ),
            rollup=sql.SQL(_ROLLUP_LAST).format(table=sql.Identifier(table), hi=sql.SQL("s.hi")),
        )
    return sql.SQL(
        "coalesce(CASE WHEN s.hi > %(wm)s THEN {live} END, CASE WHEN s.lo < %(wm)s THEN {mat} END)"
    ).format(
        live=sql.SQL(_RAW_LAST).format(lo=sql.SQL("greatest(s.lo, %(wm)s)")),
        mat=sql.SQL(_ROLLUP_LAST).format(
            table=sql.Identifier("readings_daily_mat"), hi=sql.SQL("least(s.hi, %(wm)s)")
        ),
    )


def uses_watermark(table: Table, backend: Backend) -> bool:
    """Whether SQL over ``table`` needs ``%(wm)s`` (plain PostgreSQL's daily rollup)."""
    return backend == "postgresql" and table != "readings"
