"""Metering points as the consumer sees them: summary, equipment, zones."""

from __future__ import annotations

from ingest.portal.accounts import Point
from ingest.portal.consumption import zone_name, zone_registers
from portal_api.schemas.accounts import Equipment, PointSummary, Zone, meter_of


def zone_names(point: Point) -> dict[int, str]:
    """Register -> zone name under the point's tariff plan."""
    return {int(register): zone for register, zone in point.zone_names.items()}


def zones(point: Point) -> list[Zone]:
    """One entry per tariff zone the installed meter counts (P5, P13)."""
    names = zone_names(point)
    registers = zone_registers(point.registers or [], point.tariff_plan)
    return [Zone(register=r, zone=zone_name(names, r)) for r in registers]


def summary(point: Point) -> PointSummary:
    return PointSummary(
        eic=point.eic,
        address=point.address,
        tariff_plan=point.tariff_plan,  # type: ignore[arg-type]
        meter=meter_of(point, zones(point)),
    )


def equipment(point: Point) -> Equipment:
    return Equipment(
        eic=point.eic,
        address=point.address,
        tariff_plan=point.tariff_plan,  # type: ignore[arg-type]
        meter=meter_of(point, zones(point)),
        region=point.region,
        permitted_power_kw=point.permitted_power_kw,
        input_breaker=point.input_breaker,
    )
