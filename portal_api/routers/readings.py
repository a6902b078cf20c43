"""Submitting readings (P5) and photos of the meter face (P6).

The form shows the point and meter; ``preview`` gives per zone the kWh since
the controller's mid-month reading and the billing period's total so far;
``confirm`` stores the readings through the reconciler (the "OK" step). A
photo only confirms a typed submission: it attaches to the submission's id.
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Annotated, Any

from fastapi import APIRouter, File, Response, UploadFile, status

from ingest import queries
from ingest.portal import submissions as submissions_sql
from portal_api import points, reconciler
from portal_api.deps import (
    Account,
    AccountCaller,
    AccountNumber,
    AccountPoint,
    Conn,
    SettingsDep,
    actor,
)
from portal_api.errors import invalid, not_found, responses
from portal_api.schemas.readings import (
    FormZone,
    LastReading,
    PhotoOut,
    Preview,
    SubmissionForm,
    SubmissionIn,
    SubmissionOut,
    SubmissionSummary,
)
from portal_api.uploads import clean_image, read_limited

router = APIRouter(prefix="/accounts/{account_number}/readings", tags=["readings"])

PHOTO_RESPONSE: dict[int | str, dict[str, Any]] = {
    200: {
        "description": "The photo (metadata stripped).",
        "content": {
            "image/jpeg": {"schema": {"type": "string", "format": "binary"}},
            "image/png": {"schema": {"type": "string", "format": "binary"}},
        },
    }
}


def _meter(point: AccountPoint) -> int:
    if point.meter_id is None:
        raise invalid("no-meter", "no meter is installed at this point")
    return point.meter_id


@router.get(
    "/form",
    summary="The submission form: point, meter, zones, last readings (P5)",
    responses=responses(401, 403, 404, 422),
)
async def form(point: AccountPoint, conn: Conn) -> SubmissionForm:
    meter_id = _meter(point)
    zones = points.zones(point)
    last = {r.register: r for r in await queries.latest(conn, meter_id)}
    return SubmissionForm(
        eic=point.eic,
        address=point.address,
        meter_model=point.meter_model or "",
        meter_serial=point.meter_serial or "",
        install_place=point.install_place or "",
        zone_count=point.zones or len(zones),
        digits=point.digits or 0,
        zones=[
            FormZone(
                register=z.register_,
                zone=z.zone,
                last=LastReading(
                    value_kwh=last[z.register_].value_wh // 1000,
                    read_at=last[z.register_].read_at,
                    source=last[z.register_].source.value,
                )
                if z.register_ in last
                else None,
            )
            for z in zones
        ],
    )


@router.post(
    "/preview",
    summary="Live preview per zone before confirming (P5)",
    responses=responses(401, 403, 404, 422, 503),
)
async def preview(body: SubmissionIn, point: AccountPoint, conn: Conn) -> Preview:
    """Nothing is stored. One whole-kWh value per zone; ``ok`` false: ``errors``
    say why the confirm call would refuse."""
    _meter(point)
    return await reconciler.preview(
        conn, point_id=point.id, values_kwh=body.as_mapping(), at=datetime.now(UTC)
    )


@router.post(
    "",
    status_code=status.HTTP_201_CREATED,
    summary="Confirm and store the readings (P5, the OK step)",
    responses=responses(401, 403, 404, 422, 503),
)
async def confirm(
    body: SubmissionIn,
    account_number: AccountNumber,
    point: AccountPoint,
    caller: AccountCaller,
    conn: Conn,
    response: Response,
) -> SubmissionOut:
    """Stored as consumer readings through the reconciler's function; refused
    (422 with reasons) when a value is implausible."""
    _meter(point)
    assert point.account_id is not None  # looked up through the caller's account
    now = datetime.now(UTC)
    submission_id = await reconciler.confirm(
        conn,
        point_id=point.id,
        values_kwh=body.as_mapping(),
        at=now,
        submitted_by=actor(caller.user),
    )
    await submissions_sql.record(
        conn,
        submission_id=submission_id,
        account_id=point.account_id,
        point_id=point.id,
        user_id=caller.user.user_id,
    )
    response.headers["Location"] = (
        f"/api/v1/accounts/{account_number}/readings/submissions/{submission_id}"
    )
    return SubmissionOut(
        submission_id=submission_id, submitted_at=now, values=body.values, detail="покази прийнято"
    )


def _photo_out(p: submissions_sql.Photo) -> PhotoOut:
    return PhotoOut(
        id=p.id,
        submission_id=p.submission_id,
        media_type=p.media_type,  # type: ignore[arg-type]
        width=p.width,
        height=p.height,
        size_bytes=p.size_bytes,
        uploaded_at=p.uploaded_at,
    )


@router.get(
    "/submissions",
    summary="The account's submissions made in the portal, with photos",
    responses=responses(401, 403, 404),
)
async def list_submissions(account: Account, conn: Conn) -> list[SubmissionSummary]:
    rows = await submissions_sql.of_account(conn, account.id, limit=100)
    return [
        SubmissionSummary(
            submission_id=s.submission_id,
            submitted_at=s.submitted_at,
            photos=[_photo_out(p) for p in await submissions_sql.photos(conn, s.submission_id)],
        )
        for s in rows
    ]


@router.post(
    "/submissions/{submission_id}/photos",
    status_code=status.HTTP_201_CREATED,
    summary="Attach a photo of the meter face to a submission (P6)",
    responses=responses(401, 403, 404, 413, 415, 422),
)
async def add_photo(
    submission_id: int,
    account: Account,
    conn: Conn,
    settings: SettingsDep,
    photo: Annotated[UploadFile, File(description="JPEG or PNG, checked by content.")],
) -> PhotoOut:
    """The photo confirms the typed readings; it never replaces them. It is
    re-encoded, which strips EXIF and other metadata (e.g. GPS position)."""
    submission = await submissions_sql.get(conn, submission_id, account_id=account.id)
    if submission is None:
        raise not_found("no such submission on this account")
    data = await read_limited(photo, settings.photo_max_bytes)
    clean = await clean_image(data, max_pixels=settings.image_max_pixels)
    stored = await submissions_sql.add_photo(
        conn,
        submission_id=submission.submission_id,
        media_type=clean.media_type,
        width=clean.width,
        height=clean.height,
        content=clean.content,
        sha256=clean.sha256,
    )
    return _photo_out(stored)


@router.get(
    "/submissions/{submission_id}/photos/{photo_id}",
    summary="A submission's photo",
    response_class=Response,
    responses={**PHOTO_RESPONSE, **responses(401, 403, 404)},
)
async def photo_file(submission_id: int, photo_id: int, account: Account, conn: Conn) -> Response:
    submission = await submissions_sql.get(conn, submission_id, account_id=account.id)
    if submission is None:
        raise not_found("no such submission on this account")
    file = await submissions_sql.photo_file(conn, submission_id=submission_id, photo_id=photo_id)
    if file is None:
        raise not_found("no such photo")
    return Response(
        file.content, media_type=file.media_type, headers={"X-Content-Type-Options": "nosniff"}
    )
