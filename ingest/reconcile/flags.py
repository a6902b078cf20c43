"""Review flags: what the reconciler could not decide alone, with the reason.

A computation yields the flags that apply now. Syncing them with the stored
ones is idempotent: a flag already open, or resolved by an operator, is not
raised again (the operator accepted it); an open flag that no longer applies is
resolved by the reconciler itself. Late data for a closed period raises
``late_data`` and changes nothing else.
"""

from __future__ import annotations

import enum
from collections import defaultdict
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, fields
from datetime import date, datetime

import psycopg
from psycopg.rows import TupleRow

RECONCILER = "reconciler"
"""``resolved_by`` of flags the reconciler resolved because they stopped applying."""


class FlagKind(enum.StrEnum):
    DIVERGENCE = "divergence"
    IMPLAUSIBLE_DROP = "implausible_drop"
    IMPLAUSIBLE_CONSUMPTION = "implausible_consumption"
    ESTIMATE_OVERSHOOT = "estimate_overshoot"
    CLOCK_DRIFT = "clock_drift"
    FUTURE_READ = "future_read"
    ZONE_COUNT = "zone_count"
    DUPLICATE_CONFLICT = "duplicate_conflict"
    NO_DATA = "no_data"
    NO_OPENING = "no_opening"
    MISSING_INSTALL_VALUE = "missing_install_value"
    MISSING_REMOVAL_VALUE = "missing_removal_value"
    NO_INTERVAL_READS = "no_interval_reads"
    LATE_DATA = "late_data"


@dataclass(frozen=True, slots=True, kw_only=True)
class FlagDraft:
    """A flag a computation wants raised. ``register`` None: the whole point."""

    point_id: int
    register: int | None
    kind: FlagKind
    reason: str


@dataclass(frozen=True, slots=True, kw_only=True)
class ReviewFlag:
    """A stored flag (portal and staff read these)."""

    id: int
    point_id: int
    eic: str
    period: date
    register: int | None
    kind: str
    reason: str
    created_at: datetime
    resolved_at: datetime | None
    resolved_by: str | None
    resolution: str | None


FlagKey = tuple[int | None, str, str]
"""(register, kind, reason): what makes two flags of one point and period the same."""


@dataclass(frozen=True, slots=True, kw_only=True)
class StoredFlags:
    """The stored flags of a set of points for one period, by point."""

    open: dict[int, dict[FlagKey, int]]
    """Open flags: key -> id."""
    accepted: dict[int, set[FlagKey]]
    """Resolved by an operator: never raised again."""


def key(draft: FlagDraft) -> FlagKey:
    return (draft.register, str(draft.kind), draft.reason)


def load(conn: psycopg.Connection[TupleRow], period: date, points: Sequence[int]) -> StoredFlags:
    """Open and operator-resolved flags of ``points`` for ``period``."""
    open_: dict[int, dict[FlagKey, int]] = defaultdict(dict)
    accepted: dict[int, set[FlagKey]] = defaultdict(set)
    rows = conn.execute(
        "SELECT id, point_id, register, kind, reason, resolved_by FROM review_flags"
        " WHERE period = %s AND point_id = ANY(%s)"
        " AND (resolved_by IS NULL OR resolved_by <> %s)",
        (period, list(points), RECONCILER),
    ).fetchall()
    for flag_id, point_id, register, kind, reason, resolved_by in rows:
        if resolved_by is None:
            open_[point_id][(register, kind, reason)] = flag_id
        else:
            accepted[point_id].add((register, kind, reason))
    return StoredFlags(open=open_, accepted=accepted)


def sync(
    conn: psycopg.Connection[TupleRow],
    *,
    period: date,
    computed: dict[int, list[FlagDraft]],
    stored: StoredFlags,
    run_id: int,
    resolve_missing: bool = True,
) -> int:
    """Raise the computed flags not yet stored; resolve open ones that no longer
    apply (``resolve_missing``). Returns the number raised."""
    new: list[tuple[int, date, int | None, str, str, int]] = []
    gone: list[int] = []
    for point_id, drafts in computed.items():
        wanted = {key(d) for d in drafts}
        known = stored.open.get(point_id, {})
        accepted = stored.accepted.get(point_id, set())
        for d in drafts:
            k = key(d)
            if k not in known and k not in accepted:
                new.append((point_id, period, d.register, str(d.kind), d.reason, run_id))
        if resolve_missing:
            gone.extend(
                flag_id
                for k, flag_id in known.items()
                if k not in wanted and k[1] != FlagKind.LATE_DATA
            )
    if new:
        with conn.cursor() as cur:
            cur.executemany(
                "INSERT INTO review_flags (point_id, period, register, kind, reason, run_id)"
                " VALUES (%s, %s, %s, %s, %s, %s) ON CONFLICT DO NOTHING",
                new,
            )
    if gone:
        conn.execute(
            "UPDATE review_flags SET resolved_at = now(), resolved_by = %s,"
            " resolution = 'no longer applies' WHERE id = ANY(%s)",
            (RECONCILER, gone),
        )
    return len(new)


def is_open(stored: StoredFlags, draft: FlagDraft) -> bool:
    """A computed flag counts against a result unless an operator accepted it."""
    return key(draft) not in stored.accepted.get(draft.point_id, set())


_SELECT = """SELECT f.id, f.point_id, p.eic, f.period, f.register, f.kind, f.reason,
                    f.created_at, f.resolved_at, f.resolved_by, f.resolution
             FROM review_flags f JOIN metering_points p ON p.id = f.point_id"""


async def list_flags(
    conn: psycopg.AsyncConnection[TupleRow],
    *,
    point_id: int | None = None,
    period: date | None = None,
    open_only: bool = True,
    kinds: Iterable[str] | None = None,
    limit: int = 500,
) -> list[ReviewFlag]:
    """Review flags, newest first (staff work list; a point's flags for the portal)."""
    cur = await conn.execute(
        f"""{_SELECT}
            WHERE (%(point)s::bigint IS NULL OR f.point_id = %(point)s)
              AND (%(period)s::date IS NULL OR f.period = %(period)s)
              AND (NOT %(open_only)s OR f.resolved_at IS NULL)
              AND (%(kinds)s::text[] IS NULL OR f.kind = ANY(%(kinds)s))
            ORDER BY f.created_at DESC, f.id DESC LIMIT %(limit)s""",
        {
            "point": point_id,
            "period": period,
            "open_only": open_only,
            "kinds": None if kinds is None else list(kinds),
            "limit": limit,
        },
    )
    names = [f.name for f in fields(ReviewFlag)]
    return [ReviewFlag(**dict(zip(names, row, strict=True))) for row in await cur.fetchall()]
