"""The seed: valid EICs, every plan, monotonic registers, zone energy in zone hours."""

from datetime import UTC, datetime, timedelta

import psycopg

from drivers.domain import Plan, TariffCalendar, validate_eic
from ingest.seed import seed


def test_seed_population_is_consistent(store_url: str) -> None:
    # Three days across the March DST change.
    end = datetime(2026, 3, 30, 12, 7, tzinfo=UTC)
    result = seed(store_url, meters=12, days=3, end=end)
    assert result.end == datetime(2026, 3, 30, 12, 0, tzinfo=UTC)
    with psycopg.connect(store_url) as conn:
        points = conn.execute("SELECT eic, tariff_plan FROM metering_points").fetchall()
        registers = conn.execute("SELECT registers FROM meters").fetchall()
        links = conn.execute("SELECT count(*) FROM account_points").fetchone()
        steps = conn.execute(
            """SELECT p.tariff_plan, r.register, r.read_at,
                      r.value_wh - lag(r.value_wh) OVER w AS step
               FROM readings r
               JOIN meter_installations i ON i.meter_id = r.meter_id
               JOIN metering_points p ON p.id = i.point_id
               WINDOW w AS (PARTITION BY r.meter_id, r.register ORDER BY r.read_at)"""
        ).fetchall()
    assert len(points) == 12
    assert all(validate_eic(eic) == eic and eic.startswith("62Z") for eic, _ in points)
    assert {Plan(plan) for _, plan in points} == set(Plan)
    assert links == (12,)
    assert len(steps) == result.readings == sum(len(r) for (r,) in registers) * (3 * 96 + 1)
    deltas = [s for s in steps if s[3] is not None]
    assert all(step >= 0 for *_, step in deltas)
    calendar = TariffCalendar()
    zoned = [(plan, reg, at) for plan, reg, at, step in deltas if plan != "single" and step > 0]
    assert zoned
    for plan, register, at in zoned:
        assert calendar.zone_at(Plan(plan), at - timedelta(minutes=15)).register == register
