"""Shared value objects: Reading, EIC, OBIS registers, tariff zones across DST."""

from datetime import UTC, date, datetime, time, timedelta

import pytest

from drivers.domain import (
    KYIV,
    CalendarVersion,
    InvalidEic,
    Plan,
    Reading,
    Register,
    TariffCalendar,
    ZoneWindow,
    local_day_bounds,
    validate_eic,
)


@pytest.mark.parametrize("eic", ["22XWATTPLUS----G", "10YUA-WEPS-----0", "10Y1001C--00003F"])
def test_domain_md_eic_examples_validate(eic: str) -> None:
    assert validate_eic(eic) == eic


@pytest.mark.parametrize(
    "eic",
    ["22XWATTPLUS----H", "10YUA-WEPS-----1", "10Y1001C--00003", "10y1001c--00003f!", ""],
)
def test_invalid_eic_is_rejected(eic: str) -> None:
    with pytest.raises(InvalidEic):
        validate_eic(eic)


def test_reading_requires_aware_time_and_int_wh() -> None:
    with pytest.raises(ValueError, match="timezone-aware"):
        Reading(meter="A1", register=0, read_at=datetime(2026, 1, 1), value_wh=1)
    with pytest.raises(TypeError, match="exact Wh"):
        Reading(meter="A1", register=0, read_at=datetime(2026, 1, 1, tzinfo=UTC), value_wh=1.5)  # type: ignore[arg-type]
    with pytest.raises(ValueError, match="unknown register"):
        Reading(meter="A1", register=7, read_at=datetime(2026, 1, 1, tzinfo=UTC), value_wh=1)


@pytest.mark.parametrize(
    ("code", "register"),
    [("1.8.0", Register.IMPORT_TOTAL), ("1-0:1.8.2*255", Register.IMPORT_T2),
     ("15.8.1", Register.IMPORT_T1), ("2.8.0", Register.EXPORT_TOTAL)],
)  # fmt: skip
def test_obis_codes_map_to_registers(code: str, register: Register) -> None:
    assert Register.from_obis(code) == register
    assert Register.from_obis(register.obis) == register


def test_obis_rejects_non_energy_codes() -> None:
    with pytest.raises(ValueError, match="not an energy register"):
        Register.from_obis("1.7.0")


def _kyiv(y: int, m: int, d: int, h: int, mi: int = 0) -> datetime:
    return datetime(y, m, d, h, mi, tzinfo=KYIV)


@pytest.mark.parametrize(
    ("plan", "local", "zone"),
    [
        (Plan.TWO_ZONE, _kyiv(2026, 1, 10, 6, 59), "night"),
        (Plan.TWO_ZONE, _kyiv(2026, 1, 10, 7, 0), "day"),
        (Plan.TWO_ZONE, _kyiv(2026, 1, 10, 23, 0), "night"),
        (Plan.THREE_ZONE, _kyiv(2026, 1, 10, 8, 0), "peak"),
        (Plan.THREE_ZONE, _kyiv(2026, 1, 10, 10, 59), "peak"),
        (Plan.THREE_ZONE, _kyiv(2026, 1, 10, 11, 0), "half_peak"),
        (Plan.THREE_ZONE, _kyiv(2026, 1, 10, 21, 30), "peak"),
        (Plan.THREE_ZONE, _kyiv(2026, 1, 10, 22, 30), "half_peak"),
        (Plan.THREE_ZONE, _kyiv(2026, 1, 10, 3, 0), "night"),
        (Plan.SINGLE, _kyiv(2026, 1, 10, 12, 0), "total"),
    ],
)
def test_zone_lookup(plan: Plan, local: datetime, zone: str) -> None:
    assert TariffCalendar().zone_at(plan, local).zone == zone


def test_zone_lookup_follows_wall_clock_across_dst() -> None:
    cal = TariffCalendar()
    # 2026-03-29: clocks go 03:00 -> 04:00 in Kyiv. 04:30 UTC is 07:30 local (EEST): day.
    assert cal.zone_at(Plan.TWO_ZONE, datetime(2026, 3, 29, 4, 30, tzinfo=UTC)).zone == "day"
    # The day before, 04:30 UTC is 06:30 local (EET): night.
    assert cal.zone_at(Plan.TWO_ZONE, datetime(2026, 3, 28, 4, 30, tzinfo=UTC)).zone == "night"


def test_local_days_are_23_and_25_hours_on_dst_days() -> None:
    for day, hours in ((date(2026, 3, 29), 23), (date(2026, 10, 25), 25), (date(2026, 6, 1), 24)):
        start, end = local_day_bounds(day)
        assert end - start == timedelta(hours=hours)


def test_calendar_versions_switch_on_their_date() -> None:
    later = CalendarVersion(
        plan=Plan.TWO_ZONE,
        effective_from=date(2026, 7, 1),
        windows=(
            ZoneWindow(zone="night", register=2, start=time(0), end=time(6)),
            ZoneWindow(zone="day", register=1, start=time(6), end=time(22)),
            ZoneWindow(zone="night", register=2, start=time(22), end=time(0)),
        ),
    )
    cal = TariffCalendar(versions=(*TariffCalendar().versions, later))
    assert cal.zone_at(Plan.TWO_ZONE, _kyiv(2026, 6, 30, 6, 30)).zone == "night"
    assert cal.zone_at(Plan.TWO_ZONE, _kyiv(2026, 7, 1, 6, 30)).zone == "day"


def test_calendar_windows_must_tile_the_day() -> None:
    with pytest.raises(ValueError, match="tile the day"):
        CalendarVersion(
            plan=Plan.TWO_ZONE,
            effective_from=date(2026, 1, 1),
            windows=(ZoneWindow(zone="day", register=1, start=time(7), end=time(23)),),
        )
