"""Controller (inspector) readings, one visit at a time or a CSV file, stored
through the reconciler's import (one set of checks for both, and for
``metergate import controller``); and the photos consumers attached."""

from __future__ import annotations

import csv
import io
from datetime import UTC, datetime
from typing import Annotated

from fastapi import APIRouter, File, Response, UploadFile, status

from drivers.domain import KYIV
from ingest.portal import accounts as accounts_sql
from ingest.portal import submissions as submissions_sql
from ingest.reconcile import ImportReport, import_controller_csv
from portal_api.deps import Conn, StaffUser, actor
from portal_api.errors import ProblemError, invalid, not_found, responses
from portal_api.routers.readings import PHOTO_RESPONSE
from portal_api.schemas.staff import ControllerReading, ImportResult, RowErrorOut
from portal_api.uploads import read_limited

router = APIRouter(prefix="/staff", tags=["staff: readings"])

CSV_MAX_BYTES = 10 * 2**20


def _result(report: ImportReport) -> ImportResult:
    return ImportResult(
        rows=report.rows,
        stored=report.stored,
        duplicates=report.duplicates,
        errors=[RowErrorOut(line=e.line, message=e.message) for e in report.errors[:500]],
    )


@router.post(
    "/controller-readings",
    status_code=status.HTTP_201_CREATED,
    summary="Enter a controller's readings of one meter (every zone)",
    responses=responses(401, 403, 404, 422),
)
async def enter(body: ControllerReading, user: StaffUser, conn: Conn) -> ImportResult:
    """Stored as readings with source ``controller`` after the same checks as a
    CSV import (zones complete, digits, monotonic, plausible); 422 with the
    reasons when refused."""
    if body.eic is not None:
        point = await accounts_sql.point_by_eic(conn, body.eic)
    else:
        point = await accounts_sql.point_by_serial(conn, body.meter_serial or "")
    if point is None or point.meter_serial is None:
        raise not_found("no such metering point or meter")
    at = body.read_at or datetime.now(UTC)
    at = at if at.tzinfo is not None else at.replace(tzinfo=KYIV)
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\n")
    writer.writerow(["eic", "meter", "read_at", "register", "value_kwh", "controller"])
    for v in body.values:
        writer.writerow(
            [
                point.eic,
                point.meter_serial,
                at.isoformat(),
                v.register_,
                str(v.value_kwh),
                body.controller or actor(user),
            ]
        )
    report = await import_controller_csv(conn, out.getvalue(), actor=actor(user))
    if report.errors:
        reasons = [e.message for e in report.errors]
        raise ProblemError(
            422,
            "reading-rejected",
            "Readings refused",
            "; ".join(reasons),
            extra={"reasons": reasons},
        )
    return _result(report)


@router.post(
    "/controller-readings/import",
    summary="Import controller readings from CSV",
    responses=responses(401, 403, 413, 422),
)
async def import_csv(
    user: StaffUser,
    conn: Conn,
    file: Annotated[
        UploadFile,
        File(description="UTF-8 CSV: eic,meter,read_at,register,value_kwh[,controller]."),
    ],
) -> ImportResult:
    """Valid rows are stored; refused rows come back with their line numbers
    (the format of ``metergate import controller``, see docs/reconciler.md)."""
    data = await read_limited(file, CSV_MAX_BYTES)
    try:
        text = data.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        raise invalid("bad-csv", "the file is not UTF-8 text") from exc
    return _result(await import_controller_csv(conn, text, actor=actor(user)))


@router.get(
    "/submissions/{submission_id}/photos/{photo_id}",
    summary="A photo a consumer attached to a submission",
    response_class=Response,
    responses={**PHOTO_RESPONSE, **responses(401, 403, 404)},
)
async def photo(submission_id: int, photo_id: int, user: StaffUser, conn: Conn) -> Response:
    file = await submissions_sql.photo_file(conn, submission_id=submission_id, photo_id=photo_id)
    if file is None:
        raise not_found("no such photo")
    return Response(
        file.content, media_type=file.media_type, headers={"X-Content-Type-Options": "nosniff"}
    )
