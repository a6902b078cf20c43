"""Consumption as a file (P10): CSV, XLSX or Green Button ESPI XML."""

from __future__ import annotations

import asyncio
from typing import Annotated, Literal

from fastapi import APIRouter, Query, Request, Response

from ingest.portal import Conn as Connection
from ingest.portal.accounts import Point
from ingest.portal.consumption import Bucket, GroupBy
from ingest.reconcile.policy import load_policy_async
from portal_api import exports, usage
from portal_api.deps import AccountNumber, AccountPoint, Conn, SettingsDep
from portal_api.errors import responses
from portal_api.exports import billing
from portal_api.uploads import content_disposition

router = APIRouter(prefix="/accounts/{account_number}/export", tags=["export"])

_MEDIA = {
    "csv": "text/csv; charset=utf-8",
    "xlsx": "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
    "espi": "application/atom+xml",
}
_SUFFIX = {"csv": "csv", "xlsx": "xlsx", "espi": "xml"}


@router.get(
    "",
    summary="Download consumption as CSV, XLSX or Green Button XML (P10)",
    response_class=Response,
    responses={
        200: {
            "description": "The file (Content-Disposition: attachment).",
            "content": {
                "text/csv": {"schema": {"type": "string"}},
                _MEDIA["xlsx"]: {"schema": {"type": "string", "format": "binary"}},
                "application/atom+xml": {"schema": {"type": "string"}},
            },
        },
        **responses(401, 403, 404, 422),
    },
)
async def export(
    request: Request,
    account_number: AccountNumber,
    point: AccountPoint,
    conn: Conn,
    settings: SettingsDep,
    format: Annotated[Literal["csv", "xlsx", "espi"], Query(description="File format.")] = "csv",
    period_from: usage.PeriodFrom = None,
    period_to: usage.PeriodTo = None,
    group_by: usage.GroupByQuery = "day",
) -> Response:
    """The same buckets as ``/consumption`` (oldest first), every zone and the
    total. ESPI: an Atom feed valid against the NAESB ESPI 4.0 and Atom schemas,
    with Kyiv's LocalTimeParameters and a UsageSummary per billing period."""
    w = usage.window(period_from, period_to, group_by)
    rows = await usage.buckets(request, conn, point, w)
    zones = exports.zones_of(rows)
    if format == "csv":
        body = exports.to_csv(rows, zones)
    elif format == "xlsx":
        body = await asyncio.to_thread(
            exports.to_xlsx, rows, zones, account_number=account_number, eic=point.eic
        )
    else:
        body = exports.espi_feed(
            rows,
            zones,
            summaries=await _per_period(request, conn, point, rows, group_by),
            base_url=settings.public_base_url,
            account_number=account_number,
            eic=point.eic,
            group_by=group_by,
        )
    name = f"consumption-{account_number}-{point.eic}-{group_by}.{_SUFFIX[format]}"
    return Response(
        body, media_type=_MEDIA[format], headers={"Content-Disposition": content_disposition(name)}
    )


async def _per_period(
    request: Request, conn: Connection, point: Point, rows: list[Bucket], group_by: GroupBy
) -> list[billing.PeriodUsage]:
    """Billing-period totals over the exported buckets' span: from the buckets
    themselves when none straddles a cut-off, else from smaller ones."""
    if not rows:
        return []
    policy = await load_policy_async(conn)
    grain = billing.grain(group_by, policy)
    if grain != group_by:
        span = usage.Window(rows[0].interval_start, rows[-1].interval_end, grain)
        rows = await usage.buckets(request, conn, point, span)
    return billing.per_period(rows, policy)
