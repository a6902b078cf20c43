"""Running the reconciler: which periods, which points; recorded, idempotent.

``reconcile`` is synchronous (the gateway's scheduler runs it in a worker
thread; the CLI calls it directly) and holds the reconciler's advisory lock.
Periods are computed in order, each in its own transaction (``work``), so a
period's opening sees the previous period's new closing.

- Open periods whose closing cut-off has passed are computed and versioned;
  the last one due is opened if needed.
- Closed periods are computed only to compare: data that arrived after the
  close raises a ``late_data`` flag and changes nothing.
- Incremental runs take only the points whose new readings can change a
  period (``incremental``).
"""

from __future__ import annotations

import logging
import time
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date, datetime

import psycopg
from psycopg.rows import TupleRow

from ingest.reconcile import incremental
from ingest.reconcile.errors import PeriodNotDue
from ingest.reconcile.periods import PeriodBounds, add_months, bounds, period_at
from ingest.reconcile.policy import Policy, load_policy
from ingest.reconcile.session import db_now, locked, point_id
from ingest.reconcile.work import Job, Tally, run_period, scope_ids

log = logging.getLogger(__name__)

LATE_HORIZON_MONTHS = 3
"""Closed periods this recent are checked for late data by incremental runs."""


@dataclass(frozen=True, slots=True, kw_only=True)
class ReconcileSummary:
    run_id: int
    mode: str
    periods: tuple[date, ...]
    points: int
    """Points computed (over all periods)."""
    results: int
    """Period results computed."""
    versions: int
    """New versions written (0 on a re-run over unchanged data)."""
    flags: int
    """Review flags raised."""
    pending: int
    """Points waiting for readings until the consumer window closes."""
    late: int
    """Results of closed periods that would change: flagged, not changed."""
    seconds: float


@dataclass(frozen=True, slots=True, kw_only=True)
class _Period:
    bounds: PeriodBounds
    closed: bool


def reconcile(
    conninfo: str,
    *,
    period: date | None = None,
    point_eic: str | None = None,
    incremental: bool = False,
    now: datetime | None = None,
) -> ReconcileSummary:
    """Reconcile billing periods (synchronous).

    ``period``: only that month (any day of it); default: every open period whose
    closing cut-off has passed. ``point_eic``: only that point. ``incremental``:
    only points that received data since the last incremental run. ``now``
    (tests, replays): the instant the rules are judged at.
    """
    mode = "incremental" if incremental else "point" if point_eic else "full"
    with locked(conninfo) as conn:
        points = None if point_eic is None else [point_id(conn, point_eic)]
        return run(conn, conninfo, mode=mode, period=period, now=now, points=points)


def run(
    conn: psycopg.Connection[TupleRow],
    conninfo: str,
    *,
    mode: str,
    period: date | None,
    now: datetime | None,
    points: Sequence[int] | None = None,
    write_closed: int | None = None,
    close_as: str | None = None,
) -> ReconcileSummary:
    """One recorded run on a locked connection (``reconcile``, ``close_period``,
    ``correct_period`` and ``resolve_flag`` all come here)."""
    started = time.perf_counter()
    until = db_now(conn)
    now = now or until
    policy = load_policy(conn)
    periods = _periods(conn, policy, now, period)
    dirty: dict[int, incremental.Ranges] = {}
    waiting: set[int] = set()
    if mode == "incremental":
        periods += _recently_closed(conn, policy, now)
        until = incremental.settled(conn)
        horizon = min((p.bounds.start for p in periods), default=now) - incremental.reach(policy)
        dirty = incremental.dirty_points(conn, incremental.watermark(conn), until, horizon)
        waiting = incremental.queued(conn)
    run_id = _start_run(conn, mode, [p.bounds.period for p in periods])
    tally = Tally()
    for p in sorted(periods, key=lambda p: p.bounds.period):
        job = Job(bounds=p.bounds, closed=p.closed, policy=policy, now=now, run_id=run_id,
                  write_closed=write_closed)  # fmt: skip
        with conn.transaction():
            if mode == "incremental":
                ids = incremental.scope(conn, p.bounds, closed=p.closed, policy=policy, now=now,
                                        dirty=dirty, waiting=waiting)  # fmt: skip
            else:
                ids = sorted(points) if points is not None else scope_ids(conn, p.bounds)
            tally.add(run_period(conn, conninfo, job, ids))
            if close_as is not None and p.bounds.period == period:
                _mark_closed(conn, p.bounds.period, close_as, tally)
    if mode == "incremental":
        incremental.advance_watermark(conn, until)
    summary = ReconcileSummary(
        run_id=run_id,
        mode=mode,
        periods=tuple(sorted(p.bounds.period for p in periods)),
        points=tally.points,
        results=tally.results,
        versions=tally.versions,
        flags=tally.flags,
        pending=tally.pending,
        late=tally.late,
        seconds=round(time.perf_counter() - started, 3),
    )
    _finish_run(conn, summary)
    log.info("reconcile %s: %s", mode, summary)
    return summary


def ensure_period(
    conn: psycopg.Connection[TupleRow], policy: Policy, period: date
) -> tuple[PeriodBounds, bool]:
    """Open the period if it is new; its bounds and whether it is closed."""
    b = bounds(period, policy)
    conn.execute(
        "INSERT INTO billing_periods (period, starts_at, ends_at, window_ends_at)"
        " VALUES (%s, %s, %s, %s) ON CONFLICT (period) DO NOTHING",
        (b.period, b.start, b.end, b.closing.window_end),
    )
    row = conn.execute(
        "SELECT status FROM billing_periods WHERE period = %s", (b.period,)
    ).fetchone()
    assert row is not None
    return b, row[0] == "closed"


def _periods(
    conn: psycopg.Connection[TupleRow], policy: Policy, now: datetime, period: date | None
) -> list[_Period]:
    if period is not None:
        b, closed = ensure_period(conn, policy, period)
        if b.end > now:
            raise PeriodNotDue(f"period {b.label} ends at {b.end.isoformat()}, after {now}")
        return [_Period(bounds=b, closed=closed)]
    ensure_period(conn, policy, add_months(period_at(now, policy), -1))
    rows = conn.execute(
        "SELECT period FROM billing_periods WHERE status = 'open' AND ends_at <= %s"
        " ORDER BY period",
        (now,),
    ).fetchall()
    return [_Period(bounds=bounds(r[0], policy), closed=False) for r in rows]


def _recently_closed(
    conn: psycopg.Connection[TupleRow], policy: Policy, now: datetime
) -> list[_Period]:
    since = add_months(period_at(now, policy), -LATE_HORIZON_MONTHS)
    rows = conn.execute(
        "SELECT period FROM billing_periods WHERE status = 'closed' AND period >= %s",
        (since,),
    ).fetchall()
    return [_Period(bounds=bounds(r[0], policy), closed=True) for r in rows]


def _mark_closed(
    conn: psycopg.Connection[TupleRow], period: date, actor: str, tally: Tally
) -> None:
    conn.execute(
        "UPDATE billing_periods SET status = 'closed', closed_at = now(), closed_by = %s"
        " WHERE period = %s",
        (actor, period),
    )
    conn.execute(
        "INSERT INTO audit_log (actor, action, entity, entity_id, details)"
        " VALUES (%s, 'period.close', 'billing_period', %s, jsonb_build_object("
        "'results', %s::int, 'versions', %s::int, 'flags', %s::int))",
        (actor, f"{period:%Y-%m}", tally.results, tally.versions, tally.flags),
    )


def _start_run(conn: psycopg.Connection[TupleRow], mode: str, periods: list[date]) -> int:
    row = conn.execute(
        "INSERT INTO reconcile_runs (mode, periods) VALUES (%s, %s) RETURNING id",
        (mode, periods),
    ).fetchone()
    assert row is not None
    return int(row[0])


def _finish_run(conn: psycopg.Connection[TupleRow], s: ReconcileSummary) -> None:
    conn.execute(
        "UPDATE reconcile_runs SET finished_at = now(), points = %s, results = %s,"
        " versions = %s, flags = %s WHERE id = %s",
        (s.points, s.results, s.versions, s.flags, s.run_id),
    )
