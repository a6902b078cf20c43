"""Reconciliation review (operators): review flags, period results, operator
corrections and closing a billing period, through ``ingest.reconcile``.

The reconciler audits these actions itself (``period.close``,
``period.correct``, ``flag.resolve``) with the operator as the actor. Its
period functions are synchronous (whole periods, an advisory lock): they run
in a worker thread on their own connections.
"""

from __future__ import annotations

import asyncio
from typing import Annotated

from fastapi import APIRouter, Path, Query, status

from ingest.portal import accounts as accounts_sql
from ingest.reconcile import (
    CorrectionRejected,
    PeriodClosed,
    PeriodNotDue,
    ReconcileError,
    UnknownPoint,
    close_period,
    correct_period,
    list_flags,
    parse_period,
    period_reads,
    resolve_flag,
)
from portal_api.deps import EIC_PATTERN, Conn, StaffUser, StoreDep, actor
from portal_api.errors import ProblemError, conflict, invalid, not_found, responses
from portal_api.schemas.reconciliation import (
    PERIOD_PATTERN,
    CloseRequest,
    Correction,
    FlagOut,
    Resolution,
    RunOut,
    StaffPeriodRead,
    flag_out,
    run_out,
    staff_read,
)

router = APIRouter(prefix="/staff", tags=["staff: reconciliation"])

Period = Annotated[str, Path(pattern=PERIOD_PATTERN, examples=["2026-02"])]
PeriodQuery = Annotated[str | None, Query(pattern=PERIOD_PATTERN, examples=["2026-02"])]


def _translate(exc: ReconcileError) -> ProblemError:
    if isinstance(exc, PeriodNotDue):
        return conflict("period-not-due", str(exc))
    if isinstance(exc, PeriodClosed):
        return conflict("period-closed", str(exc))
    if isinstance(exc, UnknownPoint):
        return not_found(str(exc))
    if isinstance(exc, CorrectionRejected):
        return invalid("correction-rejected", str(exc))
    return not_found(str(exc))


@router.get(
    "/review-flags", summary="Review flags, newest first", responses=responses(401, 403, 404, 422)
)
async def flags(
    user: StaffUser,
    conn: Conn,
    eic: Annotated[str | None, Query(pattern=EIC_PATTERN)] = None,
    period: PeriodQuery = None,
    open_only: bool = True,
    kind: Annotated[str | None, Query(max_length=40)] = None,
    limit: Annotated[int, Query(ge=1, le=1000)] = 200,
) -> list[FlagOut]:
    point_id = None
    if eic is not None:
        point = await accounts_sql.point_by_eic(conn, eic)
        if point is None:
            raise not_found("no such metering point")
        point_id = point.id
    rows = await list_flags(
        conn,
        point_id=point_id,
        period=parse_period(period) if period else None,
        open_only=open_only,
        kinds=[kind] if kind else None,
        limit=limit,
    )
    return [flag_out(f) for f in rows]


@router.post(
    "/review-flags/{flag_id}/resolve",
    status_code=status.HTTP_204_NO_CONTENT,
    summary="Resolve a review flag (the figure stands, or was corrected)",
    responses=responses(401, 403, 404, 422),
)
async def resolve(flag_id: int, body: Resolution, user: StaffUser, store: StoreDep) -> None:
    try:
        await asyncio.to_thread(
            resolve_flag, store.conninfo, flag_id, actor=actor(user), resolution=body.resolution
        )
    except ReconcileError as exc:
        raise _translate(exc) from exc


@router.get(
    "/points/{eic}/periods",
    summary="A point's period results, with every version if asked",
    responses=responses(401, 403, 404, 422),
)
async def periods(
    eic: Annotated[str, Path(pattern=EIC_PATTERN)],
    user: StaffUser,
    conn: Conn,
    period_from: PeriodQuery = None,
    period_to: PeriodQuery = None,
    all_versions: bool = False,
) -> list[StaffPeriodRead]:
    point = await accounts_sql.point_by_eic(conn, eic)
    if point is None:
        raise not_found("no such metering point")
    rows = await period_reads(
        conn,
        point_id=point.id,
        start=parse_period(period_from) if period_from else None,
        end=parse_period(period_to) if period_to else None,
        all_versions=all_versions,
    )
    return [staff_read(r) for r in rows]


@router.post(
    "/periods/{period}/close",
    summary="Close a billing period after a final run",
    responses=responses(401, 403, 409, 422),
)
async def close(period: Period, body: CloseRequest, user: StaffUser, store: StoreDep) -> RunOut:
    """Refused (409) while the consumer window is open unless ``force``, and
    for a period closed already. After the close only corrections change it."""
    try:
        summary = await asyncio.to_thread(
            close_period, store.conninfo, parse_period(period), actor=actor(user), force=body.force
        )
    except ReconcileError as exc:
        raise _translate(exc) from exc
    return run_out(summary)


@router.post(
    "/periods/{period}/corrections",
    status_code=status.HTTP_201_CREATED,
    summary="Correct the closing register value of a point's period",
    responses=responses(401, 403, 404, 409, 422),
)
async def correct(period: Period, body: Correction, user: StaffUser, store: StoreDep) -> RunOut:
    wh = body.closing_kwh * 1000
    if wh != wh.to_integral_value():
        raise invalid("bad-value", "at most 3 decimals")
    try:
        summary = await asyncio.to_thread(
            correct_period,
            store.conninfo,
            point_eic=body.eic.upper(),
            period=parse_period(period),
            register=body.register_,
            closing_wh=int(wh),
            author=actor(user),
            reason=body.reason,
        )
    except ReconcileError as exc:
        raise _translate(exc) from exc
    return run_out(summary)
