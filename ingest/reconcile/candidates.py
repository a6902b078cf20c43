"""Gathering the evidence for a period, set-based: one query per batch of points.

For every point in scope, every meter installed at it during the period (a
segment) and every register billed, one row carries: the installation values,
the previous period's closing (the chained opening), the automatic reads on
either side of each cut-off (index probes, bounded in time so TimescaleDB
excludes chunks), the consumer and controller reads around the period (one scan
of a small partial index for the whole scope, ``MANUAL``), the latest operator
correction, the history the estimate needs and the current version of the
result. Python then applies the rules (``choose``, ``compute``): the evidence
is gathered in bulk, the decisions are read in one place.

Instants travel as integer microseconds since the Unix epoch (``Micros``): the
rules only subtract and compare them, and a few hundred thousand rows parse
and compute several times faster than as datetimes. ``instant`` turns one back.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from functools import lru_cache
from typing import Any, NamedTuple

import psycopg
from psycopg.rows import TupleRow

from drivers.domain import Plan, plan_registers
from ingest.reconcile.periods import PeriodBounds, add_months
from ingest.reconcile.policy import Policy

Micros = int
"""An instant as microseconds since 1970-01-01 00:00 UTC."""

_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)
US = timedelta(microseconds=1)


def micros(at: datetime) -> Micros:
    return (at - _EPOCH) // US


@lru_cache(maxsize=65_536)
def instant(us: Micros) -> datetime:
    """The aware datetime of ``us`` (cached: most instants are cut-offs and read slots)."""
    return _EPOCH + timedelta(microseconds=us)


def _us(expr: str) -> str:
    return f"(extract(epoch FROM {expr}) * 1000000)::bigint"


_PLAN_REGISTERS = " ".join(
    f"WHEN '{plan.value}' THEN '{{{','.join(map(str, plan_registers(plan)))}}}'::smallint[]"
    for plan in Plan
)

MANUAL = f"""
CREATE TEMP TABLE rc_manual ON COMMIT DROP AS
SELECT r.meter_id, r.register,
       array_agg(r.source ORDER BY r.read_at, r.source) AS sources,
       array_agg({_us("r.read_at")} ORDER BY r.read_at, r.source) AS ats,
       array_agg(r.value_wh ORDER BY r.read_at, r.source) AS values
FROM readings r
WHERE r.source <> 1 AND r.source IN (2, 3) AND r.quality NOT IN (8, 10)
  AND r.read_at >= %(mlo)s AND r.read_at < %(mhi)s
  AND r.meter_id IN (SELECT i.meter_id FROM rc_scope s
                     JOIN meter_installations i ON i.point_id = s.point_id)
GROUP BY r.meter_id, r.register
"""
"""Consumer and controller reads around the period, per meter and register, for
the whole scope at once (they are few; one scan of a small partial index)."""

_AUTO = f"""SELECT {_us("read_at")} AS at, value_wh AS wh, {_us("received_at")} AS rx
           FROM readings r
           WHERE r.meter_id = g.meter_id AND r.register = g.register AND r.source = 1
             AND r.quality NOT IN (8, 10) AND {{bounds}}
           ORDER BY r.read_at {{order}} LIMIT 1"""

GATHER = f"""
WITH seg AS (
    SELECT p.id AS point_id, p.tariff_plan AS plan,
           round(p.permitted_power_kw * 1000)::bigint AS power_w,
           i.id AS installation_id, i.installed_at, i.removed_at,
           m.id AS meter_id, m.serial, m.digits, m.registers,
           greatest(i.installed_at, %(c0)s::timestamptz) AS seg_start,
           least(coalesce(i.removed_at, 'infinity'), %(c1)s::timestamptz) AS seg_end,
           CASE p.tariff_plan {_PLAN_REGISTERS} END AS plan_regs
    FROM rc_scope s
    JOIN metering_points p ON p.id = s.point_id
    JOIN meter_installations i ON i.point_id = p.id
         AND i.installed_at < %(c1)s AND (i.removed_at IS NULL OR i.removed_at > %(c0)s)
    JOIN meters m ON m.id = i.meter_id
    WHERE s.point_id >= %(lo)s AND s.point_id < %(hi)s
), g AS (
    SELECT seg.*, reg::smallint AS register
    FROM seg, unnest(CASE WHEN seg.plan_regs <@ seg.registers THEN seg.plan_regs
                          WHEN 0 = ANY (seg.registers) THEN '{{0}}'::smallint[]
                          ELSE seg.plan_regs END) AS reg
)
SELECT g.point_id, g.plan, g.power_w, g.meter_id, g.serial, g.digits,
       g.plan_regs <@ g.registers, 0 = ANY (g.registers), array_to_string(g.registers, ','),
       {_us("g.installed_at")}, {_us("g.removed_at")}, {_us("g.seg_start")},
       {_us("g.seg_end")}, g.register,
       iv.at_install_wh, iv.at_removal_wh,
       prev.closing_wh, {_us("prev.closing_at")}, prev.closing_meter_id, prev.source,
       ab0.at, ab0.wh, ab0.rx, aa0.at, aa0.wh, aa0.rx,
       CASE WHEN ab1n.at IS NULL THEN ab1w.at ELSE ab1n.at END,
       CASE WHEN ab1n.at IS NULL THEN ab1w.wh ELSE ab1n.wh END,
       CASE WHEN ab1n.at IS NULL THEN ab1w.rx ELSE ab1n.rx END,
       aa1.at, aa1.wh, aa1.rx,
       man.sources, man.ats, man.values,
       corr.id, corr.closing_wh, corr.author, corr.reason,
       hist.wh, hist.days, ly.consumption_wh,
       cur.version, cur.digest, cur.opening_wh, cur.closing_wh, cur.consumption_wh,
       cur.source
FROM g
LEFT JOIN installation_values iv
       ON iv.installation_id = g.installation_id AND iv.register = g.register
LEFT JOIN period_reads prev
       ON prev.point_id = g.point_id AND prev.register = g.register
      AND prev.period = %(prev_period)s AND prev.superseded_at IS NULL
      AND g.seg_start = %(c0)s
LEFT JOIN LATERAL ({
    _AUTO.format(
        order="DESC",
        bounds='''
        g.seg_start = %(c0)s AND prev.closing_wh IS NULL
        AND r.read_at <= %(c0)s AND r.read_at >= %(c0_lo)s AND r.read_at >= g.installed_at''',
    )
}
) ab0 ON true
LEFT JOIN LATERAL ({
    _AUTO.format(
        order="ASC",
        bounds='''
        g.seg_start = %(c0)s AND prev.closing_wh IS NULL
        AND r.read_at > %(c0)s AND r.read_at <= %(c0_hi)s''',
    )
}
) aa0 ON true
LEFT JOIN LATERAL ({
    _AUTO.format(
        order="DESC",
        bounds='''
        g.seg_end = %(c1)s
        AND r.read_at <= %(c1)s AND r.read_at >= %(c1_lo)s AND r.read_at >= g.installed_at''',
    )
}
) ab1n ON true
LEFT JOIN LATERAL ({
    _AUTO.format(
        order="DESC",
        bounds='''
        g.seg_end = %(c1)s AND ab1n.at IS NULL
        AND r.read_at < %(c1_lo)s AND r.read_at >= %(c0_lo)s AND r.read_at >= g.installed_at''',
    )
}
) ab1w ON true
LEFT JOIN LATERAL ({
    _AUTO.format(
        order="ASC",
        bounds='''
        g.seg_end = %(c1)s
        AND r.read_at > %(c1)s AND r.read_at <= %(c1_hi)s
        AND r.read_at < coalesce(g.removed_at, 'infinity')''',
    )
}
) aa1 ON true
LEFT JOIN rc_manual man ON man.meter_id = g.meter_id AND man.register = g.register
LEFT JOIN (
    SELECT DISTINCT ON (c.point_id, c.register) c.point_id, c.register, c.id, c.closing_wh,
           c.author, c.reason
    FROM period_corrections c WHERE c.period = %(period)s
    ORDER BY c.point_id, c.register, c.id DESC
) corr ON corr.point_id = g.point_id AND corr.register = g.register
LEFT JOIN LATERAL (
    SELECT sum(h.consumption_wh)::bigint AS wh,
           sum((h.period + interval '1 month')::date - h.period)::integer AS days
    FROM (SELECT pr.consumption_wh, pr.period FROM period_reads pr
          WHERE pr.point_id = g.point_id AND pr.register = g.register
            AND pr.superseded_at IS NULL AND pr.period < %(period)s
            AND pr.status IN ('actual', 'corrected') AND pr.consumption_wh >= 0
          ORDER BY pr.period DESC LIMIT %(history_n)s) h
) hist ON true
LEFT JOIN period_reads ly
       ON ly.point_id = g.point_id AND ly.register = g.register AND ly.period = %(last_year)s
      AND ly.superseded_at IS NULL AND ly.status IN ('actual', 'corrected')
      AND ly.consumption_wh >= 0
LEFT JOIN period_reads cur
       ON cur.point_id = g.point_id AND cur.register = g.register
      AND cur.period = %(period)s AND cur.superseded_at IS NULL
ORDER BY g.point_id, g.register, g.seg_start
"""


class Evidence(NamedTuple):
    """Everything known about one register of one meter installed at a point
    during (part of) the period: one row of ``GATHER``, column for column.

    ``*_at``/``rx`` are ``Micros``. Automatic reads: ``ab0``/``aa0`` the last at or
    before / first after the opening cut-off (only when the opening is not
    chained), ``ab1``/``aa1`` the same around the closing cut-off; ``rx`` is when
    the read was received. ``m_*``: consumer and controller reads (parallel
    arrays, oldest first). ``prev_*``: the previous period's current closing.
    ``hist_*``: the last valid periods; ``ly_wh``: the same month last year.
    ``cur_*``: the current stored version; its digest is compared with the new result's.
    """

    point_id: int
    plan: str
    power_w: int
    meter_id: int
    serial: str
    digits: int
    native: bool
    """The meter has a register for every zone of the plan."""
    has_total: bool
    """The meter has the total register (0)."""
    meter_registers: str
    """Its registers, comma-separated (for reasons)."""
    installed_at: Micros
    removed_at: Micros | None
    start: Micros
    end: Micros
    register: int
    install_wh: int | None
    removal_wh: int | None
    prev_wh: int | None
    prev_at: Micros | None
    prev_meter_id: int | None
    prev_source: str | None
    ab0_at: Micros | None
    ab0_wh: int | None
    ab0_rx: Micros | None
    aa0_at: Micros | None
    aa0_wh: int | None
    aa0_rx: Micros | None
    ab1_at: Micros | None
    ab1_wh: int | None
    ab1_rx: Micros | None
    aa1_at: Micros | None
    aa1_wh: int | None
    aa1_rx: Micros | None
    m_sources: list[int] | None
    m_ats: list[Micros] | None
    m_values: list[int] | None
    corr_id: int | None
    corr_wh: int | None
    corr_author: str | None
    corr_reason: str | None
    hist_wh: int | None
    hist_days: int | None
    ly_wh: int | None
    cur_version: int | None
    cur_digest: str | None
    cur_opening_wh: int | None
    cur_closing_wh: int | None
    cur_consumption_wh: int | None
    cur_source: str | None


def gather_params(bounds: PeriodBounds, policy: Policy) -> dict[str, Any]:
    """Query parameters for one period.

    The last automatic read before the closing cut-off may lie anywhere in the
    period (a meter gone silent), but is almost always within the
    interpolation span of it: ``GATHER`` looks there first (``c1_lo``) and
    searches the rest of the period only when that finds nothing (one probe
    over the whole month visits every daily chunk of it on TimescaleDB)."""
    ctrl = timedelta(days=policy.controller_max_days)
    span = policy.interpolation_span
    return {
        "period": bounds.period,
        "prev_period": add_months(bounds.period, -1),
        "last_year": add_months(bounds.period, -12),
        "c0": bounds.start,
        "c1": bounds.end,
        "c0_lo": bounds.start - span,
        "c0_hi": bounds.start + span,
        "c1_lo": max(bounds.end - span, bounds.start - span),
        "c1_hi": bounds.end + span,
        "mlo": min(bounds.start - ctrl, bounds.opening.window_start),
        "mhi": max(bounds.end + ctrl, bounds.closing.window_end),
        "history_n": policy.estimation_periods,
    }


def gather(
    conn: psycopg.Connection[TupleRow], params: dict[str, Any], lo: int, hi: int
) -> list[Evidence]:
    """Evidence rows for the scope's points with ``lo <= point_id < hi``, ordered
    by point, register and segment start (``rc_scope`` and ``rc_manual`` must exist)."""
    make = Evidence._make
    return [make(row) for row in conn.execute(GATHER, {**params, "lo": lo, "hi": hi})]
