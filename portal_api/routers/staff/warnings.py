"""Disconnection warnings (operators): the 10-working-day notice is checked."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated

from fastapi import APIRouter, Query, status

from drivers.domain import KYIV
from ingest.portal import accounts as accounts_sql
from ingest.portal import audit
from ingest.portal import warnings as warnings_sql
from portal_api.deps import Conn, SettingsDep, StaffUser, actor
from portal_api.errors import invalid, not_found, responses
from portal_api.schemas.warnings import NewWarning, WarningOut, WarningStatus, warning_out
from portal_api.workdays import earliest_disconnection

router = APIRouter(prefix="/staff/warnings", tags=["staff: warnings"])


@router.get("", summary="Warnings, newest first", responses=responses(401, 403, 404, 422))
async def list_warnings(
    user: StaffUser,
    conn: Conn,
    account_number: Annotated[str | None, Query(pattern=r"^[0-9A-Za-z-]{1,32}$")] = None,
    status_: Annotated[
        str | None, Query(alias="status", pattern="^(issued|cancelled|executed)$")
    ] = None,
    limit: Annotated[int, Query(ge=1, le=500)] = 100,
    offset: Annotated[int, Query(ge=0, le=10**6)] = 0,
) -> list[WarningOut]:
    account_id = None
    if account_number is not None:
        account = await accounts_sql.by_number(conn, account_number)
        if account is None:
            raise not_found("no such account")
        account_id = account.id
    rows = await warnings_sql.listing(
        conn, account_id=account_id, status=status_, limit=limit, offset=offset
    )
    return [warning_out(w) for w in rows]


@router.post(
    "",
    status_code=status.HTTP_201_CREATED,
    summary="Issue a disconnection warning (P15)",
    responses=responses(401, 403, 404, 422),
)
async def issue(body: NewWarning, user: StaffUser, conn: Conn, settings: SettingsDep) -> WarningOut:
    """For debt, ``planned_on`` must come after the 10th working day following
    ``issued_on`` (METERGATE_WARNING_NOTICE_WORKING_DAYS, METERGATE_PUBLIC_HOLIDAYS)."""
    account = await accounts_sql.by_number(conn, body.account_number)
    if account is None:
        raise not_found("no such account")
    points = await accounts_sql.points(conn, account.id)
    if body.eic is not None:
        points = [p for p in points if p.eic == body.eic.upper()]
    if not points:
        raise not_found("no such metering point on this account")
    issued_on = body.issued_on or datetime.now(KYIV).date()
    if body.planned_on <= issued_on:
        raise invalid("bad-dates", "planned_on must come after issued_on")
    if body.reason == "debt":
        earliest = earliest_disconnection(
            issued_on, settings.warning_notice_working_days, settings.public_holidays
        )
        if body.planned_on < earliest:
            raise invalid(
                "notice-too-short",
                f"a disconnection for debt needs {settings.warning_notice_working_days} working "
                f"days' notice: not before {earliest.isoformat()}",
            )
    created = await warnings_sql.create(
        conn,
        warnings_sql.NewWarning(
            account_id=account.id,
            point_id=points[0].id,
            reason=body.reason,
            message=body.message,
            debt_kop=body.debt_kop,
            issued_on=issued_on,
            planned_on=body.planned_on,
        ),
    )
    await audit.record(
        conn,
        actor=actor(user),
        action="warning.issue",
        entity="disconnection_warning",
        entity_id=created.id,
        details={
            "account": account.number,
            "eic": created.eic,
            "reason": created.reason,
            "issued_on": issued_on.isoformat(),
            "planned_on": body.planned_on.isoformat(),
        },
    )
    return warning_out(created)


@router.patch(
    "/{warning_id}", summary="Cancel or mark executed", responses=responses(401, 403, 404, 422)
)
async def set_status(
    warning_id: int, body: WarningStatus, user: StaffUser, conn: Conn
) -> WarningOut:
    updated = await warnings_sql.set_status(conn, warning_id, body.status)
    if updated is None:
        raise not_found("no such warning")
    await audit.record(
        conn,
        actor=actor(user),
        action="warning.status",
        entity="disconnection_warning",
        entity_id=warning_id,
        details={"status": body.status},
    )
    return warning_out(updated)
