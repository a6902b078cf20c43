"""Versions of period results: a new one only when the result changes.

The current version of (point, register, period) has ``superseded_at`` NULL.
Writing supersedes the changed ones and COPYs the new versions in; unchanged
results (same digest) write nothing, so a re-run over the same data creates no
version.
Closed periods are never written here: a difference there becomes a
``late_data`` flag (``runner``); only an operator correction adds a version.
"""

from __future__ import annotations

import hashlib
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date, datetime
from typing import Any, NamedTuple

import psycopg
from psycopg.rows import TupleRow

from ingest.reconcile.candidates import Evidence, instant
from ingest.reconcile.compute import PeriodResult

_COLUMNS = (
    "point_id", "period", "register", "version", "zone", "billed", "opening_at", "opening_wh",
    "opening_meter_id", "opening_source", "closing_at", "closing_wh", "closing_meter_id",
    "consumption_wh", "source", "reason", "status", "detail", "digest", "run_id",
)  # fmt: skip
_TYPES = (
    "int8", "date", "int2", "int4", "text", "bool", "timestamptz", "int8", "int4", "text",
    "timestamptz", "int8", "int4", "int8", "text", "text", "text", "jsonb", "text", "int8",
)  # fmt: skip


class Pending(NamedTuple):
    """A result to store as ``version``."""

    result: PeriodResult
    version: int
    digest: str


def digest(r: PeriodResult) -> str:
    """A hash of everything a version says (all fields but the keys): equal
    digests, equal results. ``detail`` is built in a fixed order, so its repr is stable."""
    content = (
        r.zone, r.billed, r.opening_at, r.opening_wh, r.opening_meter_id, r.opening_source,
        r.closing_at, r.closing_wh, r.closing_meter_id, r.consumption_wh, r.source, r.reason,
        r.status, r.detail,
    )  # fmt: skip
    return hashlib.blake2b(repr(content).encode(), digest_size=16).hexdigest()


def differences(result: PeriodResult, current: Evidence) -> list[str]:
    """The billing figures in which ``result`` differs from the stored version."""
    pairs = {
        "opening_wh": (result.opening_wh, current.cur_opening_wh),
        "closing_wh": (result.closing_wh, current.cur_closing_wh),
        "consumption_wh": (result.consumption_wh, current.cur_consumption_wh),
        "source": (result.source, current.cur_source),
    }
    return [name for name, (new, old) in pairs.items() if new != old]


def next_version(result: PeriodResult, current: Evidence | None) -> Pending | None:
    """The version to write, or None when nothing changed."""
    d = digest(result)
    if current is None or current.cur_version is None:
        return Pending(result, 1, d)
    if d == current.cur_digest:
        return None
    return Pending(result, current.cur_version + 1, d)


def write(conn: psycopg.Connection[TupleRow], pending: Sequence[Pending], run_id: int) -> int:
    """Supersede the current versions of ``pending`` and store the new ones."""
    if not pending:
        return 0
    replaced = [p.result for p in pending if p.version > 1]
    if replaced:
        conn.execute(
            """UPDATE period_reads p SET superseded_at = now()
               FROM unnest(%s::bigint[], %s::smallint[], %s::date[])
                    AS k(point_id, register, period)
               WHERE p.point_id = k.point_id AND p.register = k.register
                 AND p.period = k.period AND p.superseded_at IS NULL""",
            (
                [r.point_id for r in replaced],
                [r.register for r in replaced],
                [r.period for r in replaced],
            ),
        )
    with (
        conn.cursor() as cur,
        cur.copy(f"COPY period_reads ({', '.join(_COLUMNS)}) FROM STDIN (FORMAT BINARY)") as copy,
    ):
        copy.set_types(_TYPES)
        for p in pending:
            copy.write_row(_row(p, run_id))
    return len(pending)


def _at(us: int | None) -> datetime | None:
    return None if us is None else instant(us)


def _row(p: Pending, run_id: int) -> tuple[Any, ...]:
    r = p.result
    return (
        r.point_id, r.period, r.register, p.version, r.zone, r.billed, _at(r.opening_at),
        r.opening_wh,
        r.opening_meter_id, r.opening_source, _at(r.closing_at), r.closing_wh,
        r.closing_meter_id, r.consumption_wh, r.source, r.reason, r.status, r.detail, p.digest,
        run_id,
    )  # fmt: skip


@dataclass(frozen=True, slots=True, kw_only=True)
class PeriodRead:
    """A stored period result (P8/P9 tables, staff review)."""

    point_id: int
    eic: str
    period: date
    register: int
    zone: str
    version: int
    opening_at: datetime | None
    opening_wh: int | None
    opening_source: str | None
    closing_at: datetime | None
    closing_wh: int | None
    consumption_wh: int | None
    source: str
    reason: str
    status: str
    detail: dict[str, Any]
    created_at: datetime
    superseded_at: datetime | None
    period_status: str
    billed: bool = True
    """False for a split meter's total register (its zone rows are the bill)."""


_SELECT = """SELECT r.point_id, p.eic, r.period, r.register, r.zone, r.version, r.opening_at,
                    r.opening_wh, r.opening_source, r.closing_at, r.closing_wh,
                    r.consumption_wh, r.source, r.reason, r.status, r.detail, r.created_at,
                    r.superseded_at, b.status, r.billed
             FROM period_reads r
             JOIN metering_points p ON p.id = r.point_id
             JOIN billing_periods b ON b.period = r.period"""


async def period_reads(
    conn: psycopg.AsyncConnection[TupleRow],
    *,
    point_id: int,
    start: date | None = None,
    end: date | None = None,
    all_versions: bool = False,
    billed_only: bool = True,
) -> list[PeriodRead]:
    """A point's period results (current versions unless ``all_versions``), oldest
    period first, registers in order; ``start``/``end`` bound the periods
    (inclusive/exclusive). ``billed_only``: leave out the total register of a
    single-register meter on a multi-zone plan (its zone rows sum to it), so
    the rows of a period add up to its bill. The portal's consumption tables
    (P8, P9) and the staff's history of versions read this."""
    cur = await conn.execute(
        f"""{_SELECT}
            WHERE r.point_id = %(point)s
              AND (%(all)s OR r.superseded_at IS NULL)
              AND (r.billed OR NOT %(billed_only)s)
              AND (%(start)s::date IS NULL OR r.period >= %(start)s)
              AND (%(end)s::date IS NULL OR r.period < %(end)s)
            ORDER BY r.period, r.register, r.version""",
        {
            "point": point_id,
            "all": all_versions,
            "start": start,
            "end": end,
            "billed_only": billed_only,
        },
    )
    return [_period_read(row) for row in await cur.fetchall()]


def _period_read(row: tuple[Any, ...]) -> PeriodRead:
    (point_id, eic, period, register, zone, version, opening_at, opening_wh, opening_source,
     closing_at, closing_wh, consumption_wh, source, reason, status, detail, created_at,
     superseded_at, period_status, billed) = row  # fmt: skip
    return PeriodRead(
        point_id=point_id,
        eic=eic,
        period=period,
        register=register,
        zone=zone,
        version=version,
        opening_at=opening_at,
        opening_wh=opening_wh,
        opening_source=opening_source,
        closing_at=closing_at,
        closing_wh=closing_wh,
        consumption_wh=consumption_wh,
        source=source,
        reason=reason,
        status=status,
        detail=detail,
        created_at=created_at,
        superseded_at=superseded_at,
        period_status=period_status,
        billed=billed,
    )
