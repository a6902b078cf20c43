"""The reconciler's consumer-submission functions as the portal calls them (P5)."""

from __future__ import annotations

from collections.abc import Mapping
from datetime import datetime

from ingest.portal import Conn
from ingest.reconcile import SubmissionRejected, confirm_submission, preview_submission
from ingest.reconcile.submissions import ZonePreview as StoreZonePreview
from portal_api.errors import ProblemError
from portal_api.schemas.common import kwh
from portal_api.schemas.readings import Preview, ZonePreview


def _kwh(wh: int | None) -> str | None:
    return None if wh is None else kwh(wh)


def _zone(z: StoreZonePreview) -> ZonePreview:
    return ZonePreview(
        register=z.register,
        zone=z.zone,
        value_kwh=z.value_kwh,
        previous_kwh=_kwh(z.previous_wh),
        previous_at=z.previous_at,
        previous_source=z.previous_source,
        since_controller_kwh=_kwh(z.since_controller_wh),
        period_total_kwh=_kwh(z.period_total_wh),
        errors=list(z.errors),
    )


async def preview(
    conn: Conn, *, point_id: int, values_kwh: Mapping[int, int], at: datetime
) -> Preview:
    result = await preview_submission(conn, point_id=point_id, values_kwh=values_kwh, at=at)
    return Preview(
        ok=result.ok,
        period=result.period,
        zones=[_zone(z) for z in result.zones],
        errors=list(result.errors),
    )


async def confirm(
    conn: Conn, *, point_id: int, values_kwh: Mapping[int, int], at: datetime, submitted_by: str
) -> int:
    """The submission id; 422 with the reasons when the reconciler refuses."""
    try:
        return await confirm_submission(
            conn, point_id=point_id, values_kwh=values_kwh, at=at, submitted_by=submitted_by
        )
    except SubmissionRejected as exc:
        raise ProblemError(
            422,
            "submission-rejected",
            "Readings refused",
            "; ".join(exc.errors),
            extra={"reasons": list(exc.errors)},
        ) from exc
