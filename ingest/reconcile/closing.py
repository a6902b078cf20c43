"""Closing a billing period: a final full run, then the period is frozen.

Closing waits for the consumer window to end (``force`` overrides, e.g. for a
company that closes early). The final computation runs under the reconciler's
lock and the status changes in the same transaction as the last of it. After
the close, data for the period only raises ``late_data`` flags; an operator
correction is the one way to change a closed result.
"""

from __future__ import annotations

from datetime import date, datetime

from ingest.reconcile.errors import PeriodClosed, PeriodNotDue
from ingest.reconcile.periods import bounds, month_of
from ingest.reconcile.policy import load_policy
from ingest.reconcile.runner import ReconcileSummary, ensure_period, run
from ingest.reconcile.session import db_now, locked


def close_period(
    conninfo: str,
    period: date,
    *,
    actor: str,
    now: datetime | None = None,
    force: bool = False,
) -> ReconcileSummary:
    """Reconcile every point for ``period`` one last time and close it (synchronous)."""
    if not actor:
        raise ValueError("actor must name who closes the period")
    period = month_of(period)
    with locked(conninfo) as conn:
        now = now or db_now(conn)
        policy = load_policy(conn)
        b = bounds(period, policy)
        if now < b.closing.window_end and not force:
            raise PeriodNotDue(
                f"the consumer window of {b.label} is open until {b.closing.window_end.isoformat()}"
            )
        _, closed = ensure_period(conn, policy, period)
        if closed:
            raise PeriodClosed(f"period {b.label} is already closed")
        return run(conn, conninfo, mode="close", period=period, now=now, close_as=actor)
