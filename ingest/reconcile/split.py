"""Zone split for single-register meters on multi-zone plans.

Such a meter (an SDM630 on a two-zone plan) has one total register; its
interval reads say when the energy was used. Each interval's energy belongs to
the zone in force at the interval's start, under the calendar version in force
on that local date (so a calendar change mid-period and the DST days are
honoured). The period's total — chosen from the candidates like any register —
is then shared out in proportion to the zone energies, so the zones sum to the
total exactly (largest remainder), and energy in gaps or around the cut-offs
is shared alike.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Sequence
from datetime import datetime, timedelta

import psycopg
from psycopg.rows import TupleRow

_ENERGY = """
WITH s AS (
    SELECT * FROM unnest(%(points)s::bigint[], %(meters)s::integer[], %(plans)s::text[],
                         %(starts)s::timestamptz[], %(ends)s::timestamptz[])
           AS s(point_id, meter_id, plan, seg_start, seg_end)
), iv AS (
    SELECT s.point_id, s.plan, r.read_at, r.value_wh,
           lag(r.read_at) OVER w AS prev_at, lag(r.value_wh) OVER w AS prev_wh
    FROM s JOIN readings r
      ON r.meter_id = s.meter_id AND r.register = 0 AND r.source = 1
     AND r.quality NOT IN (8, 10)
     AND r.read_at >= s.seg_start AND r.read_at <= s.seg_end
     AND r.read_at >= %(c0)s AND r.read_at <= %(c1)s
    WINDOW w AS (PARTITION BY s.point_id, s.meter_id ORDER BY r.read_at)
), versions AS (
    SELECT plan, effective_from,
           coalesce(lead(effective_from) OVER (PARTITION BY plan ORDER BY effective_from),
                    'infinity'::date) AS effective_to
    FROM (SELECT DISTINCT plan, effective_from FROM tariff_calendars) v
), windows AS (
    SELECT c.plan, v.effective_from, v.effective_to, c.register, c.start_local, c.end_local
    FROM tariff_calendars c JOIN versions v USING (plan, effective_from)
), slots AS (
    SELECT point_id, plan, value_wh - prev_wh AS wh,
           (prev_at AT TIME ZONE 'Europe/Kyiv')::date AS day,
           (prev_at AT TIME ZONE 'Europe/Kyiv')::time AS at
    FROM iv
    WHERE prev_at IS NOT NULL AND read_at - prev_at <= %(max_interval)s AND value_wh >= prev_wh
)
SELECT slots.point_id, w.register, sum(slots.wh)::bigint
FROM slots JOIN windows w
  ON w.plan = slots.plan AND slots.day >= w.effective_from AND slots.day < w.effective_to
 AND slots.at >= w.start_local AND (slots.at < w.end_local OR w.end_local = '00:00')
GROUP BY slots.point_id, w.register
"""


def zone_energy(
    conn: psycopg.Connection[TupleRow],
    segments: Sequence[tuple[int, int, str, datetime, datetime]],
    *,
    start: datetime,
    end: datetime,
    max_interval: timedelta,
) -> dict[int, dict[int, int]]:
    """Energy per zone register from the interval reads of each
    ``(point_id, meter_id, plan, segment start, segment end)``; by point."""
    out: dict[int, dict[int, int]] = defaultdict(dict)
    if not segments:
        return out
    points, meters, plans, starts, ends = (list(col) for col in zip(*segments, strict=True))
    rows = conn.execute(
        _ENERGY,
        {
            "points": points,
            "meters": meters,
            "plans": plans,
            "starts": starts,
            "ends": ends,
            "c0": start,
            "c1": end,
            "max_interval": max_interval,
        },
    ).fetchall()
    for point_id, register, wh in rows:
        out[point_id][register] = out[point_id].get(register, 0) + int(wh)
    return out


def distribute(total: int, weights: dict[int, int]) -> dict[int, int | None]:
    """Share ``total`` in proportion to ``weights`` in integers that sum to it
    exactly (largest remainder; ties go to the lower register)."""
    whole = sum(weights.values())
    if whole <= 0:
        raise ValueError("weights must have a positive sum")
    sign, amount = (-1, -total) if total < 0 else (1, total)
    base = {k: amount * w // whole for k, w in weights.items()}
    left = amount - sum(base.values())
    by_remainder = sorted(weights, key=lambda k: (-(amount * weights[k] % whole), k))
    for k in by_remainder[:left]:
        base[k] += 1
    return {k: sign * v for k, v in base.items()}
