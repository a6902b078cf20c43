"""The public catalogue of paid commercial-metering services (P1)."""

from __future__ import annotations

from fastapi import APIRouter

from ingest.portal import services as services_sql
from portal_api.deps import Conn
from portal_api.schemas.records import ServiceOut, service_out

router = APIRouter(prefix="/services", tags=["services"])


@router.get("", summary="Services with their prices, before login (P1)")
async def list_services(conn: Conn) -> list[ServiceOut]:
    return [service_out(s) for s in await services_sql.listing(conn, include_inactive=False)]
