"""The public catalogue of paid commercial-metering services (P1)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from ingest.portal._sql import Conn, many, one, run

_COLUMNS = "id, name, description, price_kop, unit, vat_included, position, active, updated_at"


@dataclass(frozen=True, slots=True, kw_only=True)
class Service:
    id: int
    name: str
    description: str
    price_kop: int
    unit: str
    vat_included: bool
    position: int
    active: bool
    updated_at: datetime


@dataclass(frozen=True, slots=True, kw_only=True)
class ServiceFields:
    name: str
    description: str
    price_kop: int
    unit: str
    vat_included: bool
    position: int
    active: bool


async def listing(conn: Conn, *, include_inactive: bool) -> list[Service]:
    return await many(
        conn,
        Service,
        f"SELECT {_COLUMNS} FROM services WHERE active OR %s ORDER BY position, id",
        (include_inactive,),
    )


async def get(conn: Conn, service_id: int) -> Service | None:
    return await one(conn, Service, f"SELECT {_COLUMNS} FROM services WHERE id = %s", (service_id,))


async def create(conn: Conn, fields: ServiceFields) -> Service:
    row = await one(
        conn,
        Service,
        f"""INSERT INTO services
                (name, description, price_kop, unit, vat_included, position, active)
            VALUES (%(name)s, %(description)s, %(price_kop)s, %(unit)s, %(vat_included)s,
                    %(position)s, %(active)s)
            RETURNING {_COLUMNS}""",
        _params(fields),
    )
    assert row is not None
    return row


async def update(conn: Conn, service_id: int, fields: ServiceFields) -> Service | None:
    return await one(
        conn,
        Service,
        f"""UPDATE services SET name = %(name)s, description = %(description)s,
                   price_kop = %(price_kop)s, unit = %(unit)s, vat_included = %(vat_included)s,
                   position = %(position)s, active = %(active)s, updated_at = now()
            WHERE id = %(id)s RETURNING {_COLUMNS}""",
        {**_params(fields), "id": service_id},
    )


async def delete(conn: Conn, service_id: int) -> bool:
    return await run(conn, "DELETE FROM services WHERE id = %s", (service_id,)) == 1


def _params(fields: ServiceFields) -> dict[str, object]:
    return {
        "name": fields.name,
        "description": fields.description,
        "price_kop": fields.price_kop,
        "unit": fields.unit,
        "vat_included": fields.vat_included,
        "position": fields.position,
        "active": fields.active,
    }
