"""Warnings of disconnection per metering point (P15)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime

from ingest.portal._sql import Conn, many, one

_COLUMNS = """w.id, w.account_id, a.number AS account_number, w.point_id, p.eic, w.reason,
              w.message, w.debt_kop, w.issued_on, w.planned_on, w.status, w.created_at"""
_FROM = """disconnection_warnings w JOIN accounts a ON a.id = w.account_id
           JOIN metering_points p ON p.id = w.point_id"""


@dataclass(frozen=True, slots=True, kw_only=True)
class DisconnectionWarning:
    id: int
    account_id: int
    account_number: str
    point_id: int
    eic: str
    reason: str
    message: str
    debt_kop: int | None
    issued_on: date
    planned_on: date
    status: str
    created_at: datetime


@dataclass(frozen=True, slots=True, kw_only=True)
class NewWarning:
    account_id: int
    point_id: int
    reason: str
    message: str
    debt_kop: int | None
    issued_on: date
    planned_on: date


async def of_account(conn: Conn, account_id: int) -> list[DisconnectionWarning]:
    return await many(
        conn,
        DisconnectionWarning,
        f"""SELECT {_COLUMNS} FROM {_FROM} WHERE w.account_id = %s
            ORDER BY w.issued_on DESC, w.id DESC""",
        (account_id,),
    )


async def listing(
    conn: Conn, *, account_id: int | None, status: str | None, limit: int, offset: int
) -> list[DisconnectionWarning]:
    return await many(
        conn,
        DisconnectionWarning,
        f"""SELECT {_COLUMNS} FROM {_FROM}
            WHERE (%(account)s::bigint IS NULL OR w.account_id = %(account)s)
              AND (%(status)s::text IS NULL OR w.status = %(status)s)
            ORDER BY w.issued_on DESC, w.id DESC LIMIT %(limit)s OFFSET %(offset)s""",
        {"account": account_id, "status": status, "limit": limit, "offset": offset},
    )


async def create(conn: Conn, new: NewWarning) -> DisconnectionWarning:
    row = await one(
        conn,
        _Id,
        """INSERT INTO disconnection_warnings
               (account_id, point_id, reason, message, debt_kop, issued_on, planned_on)
           VALUES (%s, %s, %s, %s, %s, %s, %s) RETURNING id""",
        (
            new.account_id,
            new.point_id,
            new.reason,
            new.message,
            new.debt_kop,
            new.issued_on,
            new.planned_on,
        ),
    )
    assert row is not None
    created = await get(conn, row.id)
    assert created is not None
    return created


async def get(conn: Conn, warning_id: int) -> DisconnectionWarning | None:
    return await one(
        conn, DisconnectionWarning, f"SELECT {_COLUMNS} FROM {_FROM} WHERE w.id = %s", (warning_id,)
    )


async def set_status(conn: Conn, warning_id: int, status: str) -> DisconnectionWarning | None:
    row = await one(
        conn,
        _Id,
        "UPDATE disconnection_warnings SET status = %s WHERE id = %s RETURNING id",
        (status, warning_id),
    )
    return None if row is None else await get(conn, row.id)


@dataclass(frozen=True, slots=True)
class _Id:
    id: int
