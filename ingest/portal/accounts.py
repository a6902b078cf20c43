"""Personal accounts as the portal sees them: activation (P4), links (P19),
the home page (P7) and the equipment of each metering point (P13)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta
from decimal import Decimal
from typing import Any

from ingest.portal import sessions
from ingest.portal._sql import Conn, column_names, execute_per_request, many, one, run, scalar
from ingest.portal.sessions import Kind, SessionUser


@dataclass(frozen=True, slots=True, kw_only=True)
class Account:
    id: int
    number: str
    holder_name: str
    address: str
    phone: str | None
    email: str | None


@dataclass(frozen=True, slots=True, kw_only=True)
class LinkedAccount:
    id: int
    number: str
    holder_name: str
    address: str
    phone: str | None
    email: str | None
    active: bool
    linked_at: datetime


@dataclass(frozen=True, slots=True, kw_only=True)
class Point:
    """A metering point of an account with the meter installed there now (if any)."""

    id: int
    eic: str
    address: str
    region: str
    tariff_plan: str
    permitted_power_kw: Decimal
    input_breaker: bool
    meter_id: int | None
    meter_serial: str | None
    meter_model: str | None
    digits: int | None
    zones: int | None
    scales: int | None
    registers: list[int] | None
    install_place: str | None
    installed_at: datetime | None
    zone_names: dict[str, str]
    """Register (as text) -> zone name under the plan's calendar in force today."""
    stays: list[dict[str, Any]]
    """Every meter installed at the point, oldest first (JSON: meter_id, digits,
    registers, installed_at, removed_at), so that the consumption and history
    routes need no second lookup (``history.meter_spans`` reads them)."""
    day_watermark: datetime
    month_watermark: datetime
    """The store's rollup watermarks when the point was read: the consumption
    query reads materialized days and months below them (``consumption.Watermarks``)."""
    account_id: int | None = None
    """The account the point was looked up through, if any."""


_ACCOUNT = "a.id, a.number, a.holder_name, a.address, a.phone, a.email"


async def find_for_activation(
    conn: Conn, *, number: str, serial: str | None, eic_tail: str | None
) -> Account | None:
    """The account ``number`` if the meter installed at one of its points has
    ``serial`` or the point's EIC ends with ``eic_tail`` (P4); else None."""
    return await one(
        conn,
        Account,
        f"""SELECT {_ACCOUNT} FROM accounts a
            JOIN account_points ap ON ap.account_id = a.id
            JOIN metering_points p ON p.id = ap.point_id
            LEFT JOIN meter_installations mi ON mi.point_id = p.id AND mi.removed_at IS NULL
            LEFT JOIN meters m ON m.id = mi.meter_id
            WHERE a.number = %(number)s
              AND ((%(serial)s::text IS NOT NULL AND upper(m.serial) = upper(%(serial)s))
                OR (%(tail)s::text IS NOT NULL AND right(p.eic, 5) = upper(%(tail)s)))
            LIMIT 1""",
        {"number": number, "serial": serial, "tail": eic_tail},
    )


async def link(conn: Conn, *, user_id: int, account_id: int) -> bool:
    """Link an account to a login (the first one becomes active); False if linked already."""
    has_active = await scalar(
        conn,
        "SELECT EXISTS (SELECT 1 FROM user_accounts WHERE user_id = %s AND active)",
        (user_id,),
    )
    inserted = await run(
        conn,
        """INSERT INTO user_accounts (user_id, account_id, active) VALUES (%s, %s, %s)
           ON CONFLICT DO NOTHING""",
        (user_id, account_id, not has_active),
    )
    return inserted == 1


async def unlink(conn: Conn, *, user_id: int, account_id: int) -> None:
    await run(
        conn,
        "DELETE FROM user_accounts WHERE user_id = %s AND account_id = %s",
        (user_id, account_id),
    )


async def linked_accounts(conn: Conn, user_id: int) -> list[LinkedAccount]:
    """Every account of a login, the active one marked (P19)."""
    return await many(
        conn,
        LinkedAccount,
        f"""SELECT {_ACCOUNT}, ua.active, ua.linked_at FROM user_accounts ua
            JOIN accounts a ON a.id = ua.account_id
            WHERE ua.user_id = %s ORDER BY ua.linked_at, a.number""",
        (user_id,),
    )


async def linked_account(conn: Conn, *, user_id: int, number: str) -> LinkedAccount | None:
    """The account ``number`` if it is linked to ``user_id``: the check every
    account-scoped route makes. None for anyone else's account."""
    return await one(
        conn,
        LinkedAccount,
        f"""SELECT {_ACCOUNT}, ua.active, ua.linked_at FROM user_accounts ua
            JOIN accounts a ON a.id = ua.account_id
            WHERE ua.user_id = %s AND a.number = %s""",
        (user_id, number),
        per_request=True,
    )


async def set_active(conn: Conn, *, user_id: int, account_id: int) -> None:
    """Make one linked account the default one (P19 switcher)."""
    await run(
        conn,
        "UPDATE user_accounts SET active = false"
        " WHERE user_id = %s AND active AND account_id <> %s",
        (user_id, account_id),
    )
    await run(
        conn,
        "UPDATE user_accounts SET active = true WHERE user_id = %s AND account_id = %s",
        (user_id, account_id),
    )


async def ensure_active(conn: Conn, user_id: int) -> None:
    """After an unlink: make the oldest remaining link active if none is."""
    await run(
        conn,
        """UPDATE user_accounts SET active = true
           WHERE user_id = %(u)s AND NOT EXISTS (SELECT 1 FROM user_accounts
                                                 WHERE user_id = %(u)s AND active)
             AND account_id = (SELECT account_id FROM user_accounts WHERE user_id = %(u)s
                               ORDER BY linked_at, account_id LIMIT 1)""",
        {"u": user_id},
    )


async def by_number(conn: Conn, number: str) -> Account | None:
    return await one(
        conn, Account, f"SELECT {_ACCOUNT} FROM accounts a WHERE a.number = %s", (number,)
    )


async def search(conn: Conn, *, query: str, limit: int) -> list[Account]:
    """Staff search by account number, EIC, meter serial or holder name."""
    return await many(
        conn,
        Account,
        f"""SELECT DISTINCT {_ACCOUNT} FROM accounts a
            LEFT JOIN account_points ap ON ap.account_id = a.id
            LEFT JOIN metering_points p ON p.id = ap.point_id
            LEFT JOIN meter_installations mi ON mi.point_id = p.id AND mi.removed_at IS NULL
            LEFT JOIN meters m ON m.id = mi.meter_id
            WHERE a.number = %(q)s OR p.eic = upper(%(q)s) OR upper(m.serial) = upper(%(q)s)
               OR a.holder_name ILIKE '%%' || %(q)s || '%%'
            ORDER BY a.number LIMIT %(limit)s""",
        {"q": query, "limit": limit},
    )


_POINT = """p.id, p.eic, p.address, p.region, p.tariff_plan, p.permitted_power_kw, p.input_breaker,
            m.id AS meter_id, m.serial AS meter_serial, m.model AS meter_model, m.digits,
            m.zones, m.scales, m.registers, mi.install_place, mi.installed_at,
            coalesce((SELECT jsonb_object_agg(z.register::text, z.zone)
                      FROM (SELECT DISTINCT ON (register) register, zone FROM tariff_calendars
                            WHERE plan = p.tariff_plan
                              AND effective_from <= (now() AT TIME ZONE 'Europe/Kyiv')::date
                            ORDER BY register, effective_from DESC) AS z), '{}') AS zone_names,
            coalesce((SELECT jsonb_agg(jsonb_build_object(
                                 'meter_id', sm.id, 'digits', sm.digits, 'registers', sm.registers,
                                 'installed_at', si.installed_at, 'removed_at', si.removed_at)
                             ORDER BY si.installed_at)
                      FROM meter_installations si JOIN meters sm ON sm.id = si.meter_id
                      WHERE si.point_id = p.id), '[]') AS stays,
            (SELECT day_watermark FROM rollup_watermarks) AS day_watermark,
            (SELECT month_watermark FROM rollup_watermarks) AS month_watermark"""


async def points(conn: Conn, account_id: int) -> list[Point]:
    """The metering points of an account with their current meters (P7, P13)."""
    return await many(
        conn,
        Point,
        f"""SELECT {_POINT} FROM account_points ap
            JOIN metering_points p ON p.id = ap.point_id
            LEFT JOIN meter_installations mi ON mi.point_id = p.id AND mi.removed_at IS NULL
            LEFT JOIN meters m ON m.id = mi.meter_id
            WHERE ap.account_id = %s ORDER BY p.id""",
        (account_id,),
    )


_CONSUMER_POINTS = f"""{sessions.LOOKUP}
SELECT {sessions.USER_COLUMNS}, pt.*
FROM found f
LEFT JOIN LATERAL (
    SELECT {_POINT}, ua.account_id FROM user_accounts ua
    JOIN accounts a ON a.id = ua.account_id
    JOIN account_points ap ON ap.account_id = a.id
    JOIN metering_points p ON p.id = ap.point_id
    LEFT JOIN meter_installations mi ON mi.point_id = p.id AND mi.removed_at IS NULL
    LEFT JOIN meters m ON m.id = mi.meter_id
    WHERE ua.user_id = f.user_id AND f.role = 'consumer' AND a.number = %(number)s
) AS pt ON true
WHERE NOT f.ended
ORDER BY pt.id"""
_USER = tuple(sessions.USER_COLUMNS.split(", "))


async def consumer_points(
    conn: Conn, token_hash: bytes, *, kind: Kind, idle: timedelta, number: str
) -> tuple[SessionUser | None, list[Point]]:
    """``sessions.authenticate`` and, for a consumer, the points of account
    ``number`` if it is linked to them (else none), in one round trip: the
    lookups of every point-scoped request, where two statements cost the API
    worker ~0.17 ms more than one. (The session's columns and the points'
    share no name.)"""
    params = {**sessions.lookup_params(token_hash, kind=kind, idle=idle), "number": number}
    async with conn.cursor() as cur:
        await execute_per_request(cur, _CONSUMER_POINTS, params)
        rows = await cur.fetchall()
        names = column_names(cur)
    if not rows:
        return None, []
    n = len(_USER)
    user = SessionUser(**dict(zip(_USER, rows[0][:n], strict=True)))
    points = [Point(**dict(zip(names[n:], r[n:], strict=True))) for r in rows if r[n] is not None]
    return user, points


async def point_by_eic(conn: Conn, eic: str) -> Point | None:
    """Any metering point by EIC, with its current meter (staff and analysts)."""
    return await one(
        conn,
        Point,
        f"""SELECT {_POINT} FROM metering_points p
            LEFT JOIN meter_installations mi ON mi.point_id = p.id AND mi.removed_at IS NULL
            LEFT JOIN meters m ON m.id = mi.meter_id
            WHERE p.eic = upper(%s)""",
        (eic,),
    )


async def account_of_point(conn: Conn, point_id: int) -> Account | None:
    return await one(
        conn,
        Account,
        f"""SELECT {_ACCOUNT} FROM account_points ap JOIN accounts a ON a.id = ap.account_id
            WHERE ap.point_id = %s ORDER BY a.id LIMIT 1""",
        (point_id,),
    )


async def update_contacts(
    conn: Conn, account_id: int, *, holder_name: str | None, phone: str | None, email: str | None
) -> Account | None:
    """Apply new contact data to the utility's record (P18); None keeps a field."""
    return await one(
        conn,
        Account,
        f"""UPDATE accounts a SET holder_name = coalesce(%s, holder_name),
                                  phone = coalesce(%s, phone), email = coalesce(%s, email)
            WHERE id = %s RETURNING {_ACCOUNT}""",
        (holder_name, phone, email, account_id),
    )


async def point_by_serial(conn: Conn, serial: str) -> Point | None:
    """The point where the meter ``serial`` is installed now."""
    return await one(
        conn,
        Point,
        f"""SELECT {_POINT} FROM meters m
            JOIN meter_installations mi ON mi.meter_id = m.id AND mi.removed_at IS NULL
            JOIN metering_points p ON p.id = mi.point_id
            WHERE upper(m.serial) = upper(%s)""",
        (serial,),
    )


async def by_id(conn: Conn, account_id: int) -> Account | None:
    return await one(
        conn, Account, f"SELECT {_ACCOUNT} FROM accounts a WHERE a.id = %s", (account_id,)
    )
