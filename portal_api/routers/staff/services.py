"""The services catalogue (operators manage it; P1)."""

from __future__ import annotations

from fastapi import APIRouter, status

from ingest.portal import audit
from ingest.portal import services as services_sql
from portal_api.deps import Conn, StaffUser, actor
from portal_api.errors import not_found, responses
from portal_api.schemas.records import ServiceIn, ServiceOut, service_out

router = APIRouter(prefix="/staff/services", tags=["staff: services"])


def _fields(body: ServiceIn) -> services_sql.ServiceFields:
    return services_sql.ServiceFields(**body.model_dump())


@router.get("", summary="Every service, inactive ones included", responses=responses(401, 403))
async def list_services(user: StaffUser, conn: Conn) -> list[ServiceOut]:
    return [service_out(s) for s in await services_sql.listing(conn, include_inactive=True)]


@router.post(
    "",
    status_code=status.HTTP_201_CREATED,
    summary="Add a service",
    responses=responses(401, 403, 422),
)
async def create(body: ServiceIn, user: StaffUser, conn: Conn) -> ServiceOut:
    service = await services_sql.create(conn, _fields(body))
    await audit.record(
        conn,
        actor=actor(user),
        action="service.create",
        entity="service",
        entity_id=service.id,
        details=body.model_dump(),
    )
    return service_out(service)


@router.put(
    "/{service_id}",
    summary="Change a service or its price",
    responses=responses(401, 403, 404, 422),
)
async def update(service_id: int, body: ServiceIn, user: StaffUser, conn: Conn) -> ServiceOut:
    before = await services_sql.get(conn, service_id)
    service = await services_sql.update(conn, service_id, _fields(body))
    if service is None or before is None:
        raise not_found("no such service")
    await audit.record(
        conn,
        actor=actor(user),
        action="service.update",
        entity="service",
        entity_id=service_id,
        details={"before_price_kop": before.price_kop, **body.model_dump()},
    )
    return service_out(service)


@router.delete(
    "/{service_id}",
    status_code=status.HTTP_204_NO_CONTENT,
    summary="Remove a service",
    responses=responses(401, 403, 404),
)
async def delete(service_id: int, user: StaffUser, conn: Conn) -> None:
    if not await services_sql.delete(conn, service_id):
        raise not_found("no such service")
    await audit.record(
        conn,
        actor=actor(user),
        action="service.delete",
        entity="service",
        entity_id=service_id,
        details={},
    )
