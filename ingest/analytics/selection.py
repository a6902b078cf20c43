"""Which meters and registers a query looks at: filters on the metering point.

A meter carries the attributes (EIC, region, address, tariff plan) of the point
it was installed at most recently during the queried period. Its zone
registers are the import tariff registers T1..T4 it has, or the import total
when it has none, so summing a meter's zones never counts energy twice; each
register is named by the zone the point's plan gives it in ``tariff_calendars``.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from psycopg import sql

from drivers.domain import Plan, Source


@dataclass(frozen=True, slots=True, kw_only=True)
class Selection:
    """Filters that pick meters; None means "any". Prefixes compare the start of
    the text exactly (case and spacing matter)."""

    eic: str | None = None
    serial: str | None = None
    region: str | None = None
    """Region prefix, e.g. ``Луцьк``."""
    address: str | None = None
    """Address prefix, e.g. ``Ковель, вул. Шевченка``."""
    plan: Plan | None = None
    zone: str | None = None
    """Zone name as the tariff calendar has it: total, day, night, peak, half_peak."""
    source: Source = Source.AUTO

    def __post_init__(self) -> None:
        for name in ("eic", "serial", "region", "address", "zone"):
            value = getattr(self, name)
            if value is not None and not value:
                raise ValueError(f"{name} must not be empty (use None for any)")


def params(selection: Selection) -> dict[str, Any]:
    """The query parameters the selection's SQL refers to."""
    return {
        "eic": selection.eic,
        "serial": selection.serial,
        "region": selection.region,
        "address": selection.address,
        "plan": selection.plan.value if selection.plan is not None else None,
        "zone": selection.zone,
        "source": selection.source.db_code,
    }


def point_filters(selection: Selection) -> sql.Composable:
    """A WHERE condition on ``meters m`` and ``metering_points p``."""
    parts = [sql.SQL("TRUE")]
    if selection.eic is not None:
        parts.append(sql.SQL("p.eic = %(eic)s"))
    if selection.serial is not None:
        parts.append(sql.SQL("m.serial = %(serial)s"))
    if selection.region is not None:
        parts.append(sql.SQL("left(p.region, length(%(region)s)) = %(region)s"))
    if selection.address is not None:
        parts.append(sql.SQL("left(p.address, length(%(address)s)) = %(address)s"))
    if selection.plan is not None:
        parts.append(sql.SQL("p.tariff_plan = %(plan)s"))
    return sql.SQL(" AND ").join(parts)


def meters_cte(selection: Selection) -> sql.Composable:
    """CTE ``sel``: selected meters installed at some time in ``[%(start)s, %(end)s)``."""
    return sql.SQL(
        """sel AS (
    SELECT DISTINCT ON (m.id)
           m.id AS meter_id, m.serial, m.registers,
           (10::bigint ^ m.digits)::bigint * 1000 AS rollover_wh,
           p.eic, p.region, p.address, p.tariff_plan AS plan
    FROM meters m
    JOIN meter_installations i ON i.meter_id = m.id
    JOIN metering_points p ON p.id = i.point_id
    WHERE i.installed_at < %(end)s AND (i.removed_at IS NULL OR i.removed_at > %(start)s)
      AND {filters}
    ORDER BY m.id, i.installed_at DESC
)"""
    ).format(filters=point_filters(selection))


def zones_cte(selection: Selection) -> sql.Composable:
    """CTEs ``sel`` and ``zones``: one row per selected meter and zone register."""
    zone_filter = sql.SQL("WHERE zone = %(zone)s") if selection.zone is not None else sql.SQL("")
    return sql.SQL(
        """{sel},
zone_names AS (
    SELECT DISTINCT ON (plan, register) plan, register, zone
    FROM tariff_calendars ORDER BY plan, register, effective_from DESC
),
zones AS (
    SELECT * FROM (
        SELECT s.meter_id, s.serial, s.eic, s.region, s.address, s.plan, s.rollover_wh,
               r.register,
               coalesce(zn.zone, CASE r.register WHEN 0 THEN 'total'
                                      ELSE 'T' || r.register END) AS zone
        FROM sel s
        CROSS JOIN LATERAL (
            SELECT reg AS register FROM unnest(s.registers) AS reg WHERE reg BETWEEN 1 AND 4
            UNION ALL
            SELECT 0::smallint WHERE NOT s.registers && ARRAY[1, 2, 3, 4]::smallint[]
        ) AS r
        LEFT JOIN zone_names zn ON zn.plan = s.plan AND zn.register = r.register
    ) AS z
    {zone_filter}
)"""
    ).format(sel=meters_cte(selection), zone_filter=zone_filter)
