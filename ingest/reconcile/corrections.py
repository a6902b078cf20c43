"""Operator decisions: corrections of a period's closing value, flag resolutions.

Both are audited (``audit_log``) and recompute the point at once. A correction
is stored in ``period_corrections`` (author, reason, value) and becomes the
closing candidate that beats every source; it may change a closed period (a new
version, status ``corrected``), and the next period's opening follows it — or,
if that period is closed too, gets a ``late_data`` flag.
"""

from __future__ import annotations

import json
from datetime import date, datetime

import psycopg
from psycopg.rows import TupleRow

from ingest.reconcile.errors import CorrectionRejected, PeriodNotDue, ReconcileError
from ingest.reconcile.periods import add_months, bounds, month_of
from ingest.reconcile.policy import load_policy
from ingest.reconcile.runner import ReconcileSummary, run
from ingest.reconcile.session import db_now, locked, point_id
from ingest.reconcile.validation import advance, rollover_wh


def correct_period(
    conninfo: str,
    *,
    point_eic: str,
    period: date,
    register: int,
    closing_wh: int,
    author: str,
    reason: str,
    now: datetime | None = None,
) -> ReconcileSummary:
    """Set the closing register value of a point's period (synchronous); returns
    the run that applied it."""
    if not author or not reason:
        raise CorrectionRejected("a correction needs an author and a reason")
    period = month_of(period)
    with locked(conninfo) as conn:
        now = now or db_now(conn)
        point = point_id(conn, point_eic)
        b = bounds(period, load_policy(conn))
        if b.end > now:
            raise PeriodNotDue(f"period {b.label} has not ended")
        _check(conn, point, period, register, closing_wh)
        with conn.transaction():
            row = conn.execute(
                "INSERT INTO period_corrections (point_id, period, register, closing_wh, author,"
                " reason) VALUES (%s, %s, %s, %s, %s, %s) RETURNING id",
                (point, period, register, closing_wh, author, reason),
            ).fetchone()
            assert row is not None
            _audit(conn, author, "period.correct", f"{point_eic}/{period:%Y-%m}/{register}", {
                "correction": row[0], "closing_wh": closing_wh, "reason": reason,
            })  # fmt: skip
        summary = run(conn, conninfo, mode="correction", period=period, now=now,
                      points=[point], write_closed=register)  # fmt: skip
        following = add_months(period, 1)
        if bounds(following, load_policy(conn)).end <= now and _exists(conn, following):
            run(conn, conninfo, mode="correction", period=following, now=now, points=[point])
        return summary


def _check(
    conn: psycopg.Connection[TupleRow], point: int, period: date, register: int, closing_wh: int
) -> None:
    row = conn.execute(
        """SELECT r.opening_wh, r.closing_meter_id, m.digits FROM period_reads r
           LEFT JOIN meters m ON m.id = r.closing_meter_id
           WHERE r.point_id = %s AND r.period = %s AND r.register = %s
             AND r.superseded_at IS NULL""",
        (point, period, register),
    ).fetchone()
    if row is None:
        raise CorrectionRejected(f"no result for register {register} in {period:%Y-%m} to correct")
    opening_wh, meter_id, digits = row
    if meter_id is None or digits is None:
        raise CorrectionRejected("the result has no closing meter to correct")
    limit = rollover_wh(digits)
    if not 0 <= closing_wh < limit:
        raise CorrectionRejected(
            f"closing {closing_wh} Wh is outside the register (0..{limit - 1})"
        )
    if opening_wh is not None:
        step = advance(opening_wh, closing_wh, rollover=limit, cap=limit // 10)
        if not step.ok:
            raise CorrectionRejected(
                f"closing {closing_wh} Wh is below the opening {opening_wh} Wh; correct the"
                " previous period first"
            )


def _exists(conn: psycopg.Connection[TupleRow], period: date) -> bool:
    row = conn.execute("SELECT 1 FROM billing_periods WHERE period = %s", (period,)).fetchone()
    return row is not None


def _audit(
    conn: psycopg.Connection[TupleRow], actor: str, action: str, entity_id: str, details: object
) -> None:
    entity = action.split(".")[0]
    conn.execute(
        "INSERT INTO audit_log (actor, action, entity, entity_id, details)"
        " VALUES (%s, %s, %s, %s, %s::jsonb)",
        (actor, action, entity, entity_id, json.dumps(details, sort_keys=True)),
    )


def resolve_flag(
    conninfo: str, flag_id: int, *, actor: str, resolution: str, now: datetime | None = None
) -> None:
    """Resolve a review flag (the figure stands as computed, or was corrected);
    it is not raised again. Recomputes the point's status if the period is open."""
    if not actor or not resolution:
        raise ReconcileError("resolving a flag needs an actor and a resolution")
    with locked(conninfo) as conn:
        with conn.transaction():
            row = conn.execute(
                """UPDATE review_flags SET resolved_at = now(), resolved_by = %s, resolution = %s
                   WHERE id = %s AND resolved_at IS NULL
                   RETURNING point_id, period, kind""",
                (actor, resolution, flag_id),
            ).fetchone()
            if row is None:
                raise ReconcileError(f"no open review flag {flag_id}")
            point, period, kind = row
            _audit(conn, actor, "flag.resolve", str(flag_id), {
                "kind": kind, "resolution": resolution,
            })  # fmt: skip
        status = conn.execute(
            "SELECT status, ends_at FROM billing_periods WHERE period = %s", (period,)
        ).fetchone()
        now = now or db_now(conn)
        if status is not None and status[0] == "open" and status[1] <= now:
            run(conn, conninfo, mode="point", period=period, now=now, points=[point])
