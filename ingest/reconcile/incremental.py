"""Which points an incremental run takes: those whose new readings can change a period.

Readings received since the watermark mark their points (``readings.received_at``
has a BRIN index: rows arrive in that order). The watermark moves to the
instant before which every write has settled, so nothing is missed and nothing
is read twice. A reading changes a period only near its cut-offs: an automatic
read within the interpolation span, a consumer or controller read within the
controller reach or the windows. After a period's consumer window closes, its
points without a result are taken too, so they get estimates; points queued in
``reconcile_queue`` (a flag resolved, an installation recorded late) always.
"""

from __future__ import annotations

from datetime import datetime, timedelta

import psycopg
from psycopg.rows import TupleRow

from ingest.reconcile.periods import PeriodBounds
from ingest.reconcile.policy import Policy

Range = tuple[datetime, datetime]
Ranges = tuple[Range | None, Range | None]
"""read_at ranges of a point's new automatic and other readings."""


def settled(conn: psycopg.Connection[TupleRow]) -> datetime:
    """The instant before which every write has committed or aborted.

    ``received_at`` defaults to the writing transaction's start, so a row stamped
    before the oldest transaction still open in this database is either visible
    now or never will be.
    """
    row = conn.execute(
        """SELECT least(now(), min(xact_start)) FROM pg_stat_activity
           WHERE datname = current_database() AND pid <> pg_backend_pid()
             AND xact_start IS NOT NULL"""
    ).fetchone()
    assert row is not None
    value: datetime = row[0]
    return value


def watermark(conn: psycopg.Connection[TupleRow]) -> datetime:
    row = conn.execute("SELECT watermark FROM reconcile_state").fetchone()
    assert row is not None
    value: datetime = row[0]
    return value


def advance_watermark(conn: psycopg.Connection[TupleRow], until: datetime) -> None:
    conn.execute("UPDATE reconcile_state SET watermark = %s", (until,))
    conn.execute("DELETE FROM reconcile_queue WHERE requested_at < %s", (until,))


def reach(policy: Policy) -> timedelta:
    """How far from a cut-off a reading can still change it."""
    return max(
        policy.interpolation_span,
        timedelta(days=policy.controller_max_days),
        timedelta(days=policy.window_before_days),
    )


def dirty_points(
    conn: psycopg.Connection[TupleRow], since: datetime, until: datetime, horizon: datetime
) -> dict[int, Ranges]:
    """Points with readings received in [since, until) and read after ``horizon``."""
    rows = conn.execute(
        """SELECT i.point_id, r.source = 1 AS auto, min(r.read_at), max(r.read_at)
           FROM readings r
           JOIN meter_installations i ON i.meter_id = r.meter_id
                AND r.read_at >= i.installed_at
                AND (i.removed_at IS NULL OR r.read_at <= i.removed_at)
           WHERE r.received_at >= %s AND r.received_at < %s AND r.read_at >= %s
           GROUP BY 1, 2""",
        (since, until, horizon),
    ).fetchall()
    out: dict[int, Ranges] = {}
    for point, auto, lo, hi in rows:
        auto_range, manual_range = out.get(point, (None, None))
        if auto:
            auto_range = (lo, hi)
        else:
            manual_range = (lo, hi)
        out[point] = (auto_range, manual_range)
    return out


async def request_reconcile(conn: psycopg.AsyncConnection[TupleRow], point_id: int) -> None:
    """Have the next incremental run recompute a point (call it after changing what
    the readings alone do not show: an installation, a meter's registers)."""
    await conn.execute("INSERT INTO reconcile_queue (point_id) VALUES (%s)", (point_id,))


def queued(conn: psycopg.Connection[TupleRow]) -> set[int]:
    return {r[0] for r in conn.execute("SELECT DISTINCT point_id FROM reconcile_queue").fetchall()}


def _overlaps(r: Range | None, lo: datetime, hi: datetime) -> bool:
    return r is not None and r[0] <= hi and r[1] >= lo


def scope(
    conn: psycopg.Connection[TupleRow],
    b: PeriodBounds,
    *,
    closed: bool,
    policy: Policy,
    now: datetime,
    dirty: dict[int, Ranges],
    waiting: set[int],
) -> list[int]:
    """Points whose new readings can change period ``b``'s result."""
    span = policy.interpolation_span
    auto_lo, auto_hi = b.start - span, b.end + span
    man_lo = min(b.start - reach(policy), b.opening.window_start)
    man_hi = max(b.end + reach(policy), b.closing.window_end)
    points = {
        point
        for point, (auto, manual) in dirty.items()
        if _overlaps(auto, auto_lo, auto_hi) or _overlaps(manual, man_lo, man_hi)
    }
    if not closed:
        points |= waiting
        if now >= b.closing.window_end:
            points |= _without_result(conn, b)
    return sorted(points)


def _without_result(conn: psycopg.Connection[TupleRow], b: PeriodBounds) -> set[int]:
    rows = conn.execute(
        """SELECT DISTINCT i.point_id FROM meter_installations i
           WHERE i.installed_at < %(end)s AND (i.removed_at IS NULL OR i.removed_at > %(start)s)
             AND NOT EXISTS (SELECT 1 FROM period_reads r
                             WHERE r.point_id = i.point_id AND r.period = %(period)s
                               AND r.superseded_at IS NULL)""",
        {"start": b.start, "end": b.end, "period": b.period},
    ).fetchall()
    return {r[0] for r in rows}
