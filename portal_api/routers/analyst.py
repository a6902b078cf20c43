"""Analysts: the consumption series of any metering point."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Path, Request, Response

from ingest.portal import accounts as accounts_sql
from portal_api import usage
from portal_api.deps import EIC_PATTERN, AnalystUser, Conn
from portal_api.errors import not_found, responses
from portal_api.routers.consumption import consumption_page
from portal_api.schemas.consumption import ConsumptionPage

router = APIRouter(prefix="/analyst", tags=["analyst"])


@router.get(
    "/points/{eic}/consumption",
    summary="Consumption of any point per bucket and zone",
    response_model=ConsumptionPage,
    responses=responses(401, 403, 404, 422),
)
async def consumption(
    request: Request,
    eic: Annotated[str, Path(pattern=EIC_PATTERN, examples=["62Z0000000000017"])],
    user: AnalystUser,
    conn: Conn,
    period_from: usage.PeriodFrom = None,
    period_to: usage.PeriodTo = None,
    group_by: usage.GroupByQuery = "day",
    order_by: usage.OrderBy = "-period",
    page_size: usage.PageSize = 100,
    page: usage.PageNumber = 1,
) -> Response:
    point = await accounts_sql.point_by_eic(conn, eic)
    if point is None:
        raise not_found("no such metering point")
    return await consumption_page(
        request,
        conn,
        point,
        period_from=period_from,
        period_to=period_to,
        group_by=group_by,
        order_by=order_by,
        page_size=page_size,
        page=page,
    )
