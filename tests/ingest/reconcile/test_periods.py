"""Period computation: meter replacement, estimates, DST months, zones, calendars."""

from datetime import date, timedelta

from drivers.domain import Source
from ingest.reconcile import reconcile
from tests.ingest.reconcile.conftest import Site, kyiv

MAY = date(2026, 5, 1)
AFTER_MAY = kyiv(2026, 6, 10)
QUARTER = timedelta(minutes=15)


def test_meter_replaced_mid_month_adds_both_meters(site: Site) -> None:
    old = site.point(20, install_values={0: 9_000_000})
    site.reads(old.meter_id, 0, [(kyiv(2026, 5, 1), 10_000_000)])
    new = site.replace_meter(old, kyiv(2026, 5, 15, 12), removal_values={0: 10_050_000},
                             install_values={0: 0}, serial="NEW20")  # fmt: skip
    site.reads(new.meter_id, 0, [(kyiv(2026, 6, 1), 30_000)])
    reconcile(site.url, period=MAY, now=AFTER_MAY)
    row = site.results(MAY)[(old.eic, 0)]
    assert row["consumption_wh"] == 50_000 + 30_000
    assert (row["opening_meter_id"], row["closing_meter_id"]) == (old.meter_id, new.meter_id)
    assert [s["meter"] for s in row["detail"]["segments"]] == [old.serial, "NEW20"]
    assert [s["wh"] for s in row["detail"]["segments"]] == [50_000, 30_000]
    assert row["status"] == "actual"


def _consumer_history(site: Site, n: int, values_kwh: list[int], first: date) -> None:
    """Consumer readings on the 2nd of each month from ``first``; one period per value."""
    p = site.point(n)
    months = [date(first.year + (first.month - 1 + i) // 12, (first.month - 1 + i) % 12 + 1, 2)
              for i in range(len(values_kwh))]  # fmt: skip
    site.reads(p.meter_id, 0, [(kyiv(d.year, d.month, d.day, 10), v * 1000)
                               for d, v in zip(months, values_kwh, strict=True)],
               source=Source.CONSUMER)  # fmt: skip
    for d in months[1:]:
        month = date(d.year, d.month, 1)
        prev = date(month.year - (month.month == 1), (month.month - 2) % 12 + 1, 1)
        reconcile(site.url, period=prev, now=kyiv(d.year, d.month, 10))


def test_nothing_by_the_fourth_estimates_from_the_last_valid_periods(site: Site) -> None:
    # January 310 kWh, February 280, March 310: 900 kWh over 90 days = 10 kWh/day.
    _consumer_history(site, 21, [10_000, 10_310, 10_590, 10_900], date(2026, 1, 1))
    april = date(2026, 4, 1)
    reconcile(site.url, period=april, now=kyiv(2026, 5, 3, 23))
    assert site.results(april) == {}  # the consumer still has until the end of the 3rd
    reconcile(site.url, period=april, now=kyiv(2026, 5, 4, 0, 1))
    row = next(iter(site.results(april).values()))
    assert row["consumption_wh"] == 300_000  # 30 days × 10 kWh
    assert (row["source"], row["status"]) == ("estimate", "estimated")
    assert row["closing_wh"] == 11_200_000


def test_estimate_uses_the_same_month_last_year_when_there_is_one(site: Site) -> None:
    _consumer_history(site, 22, [5_000, 5_240, 5_600], date(2025, 4, 1))  # April 2025: 240 kWh
    site.reads(site.execute("SELECT id FROM meters")[0][0], 0,
               [(kyiv(2026, 4, 2, 10), 9_000_000)], source=Source.CONSUMER)  # fmt: skip
    reconcile(site.url, period=date(2026, 3, 1), now=kyiv(2026, 4, 10))
    april = date(2026, 4, 1)
    reconcile(site.url, period=april, now=kyiv(2026, 5, 10))
    row = next(iter(site.results(april).values()))
    assert (row["consumption_wh"], row["source"]) == (240_000, "estimate")
    assert "same month last year" in row["reason"]


def test_actual_reading_after_an_overshooting_estimate_is_flagged(site: Site) -> None:
    _consumer_history(site, 23, [10_000, 10_310, 10_590, 10_900], date(2026, 1, 1))
    april = date(2026, 4, 1)
    reconcile(site.url, period=april, now=kyiv(2026, 5, 10))  # estimated: closing 11,200 kWh
    meter_id = site.execute("SELECT id FROM meters")[0][0]
    site.reads(meter_id, 0, [(kyiv(2026, 6, 2, 10), 11_150_000)], source=Source.CONSUMER)
    reconcile(site.url, period=MAY, now=AFTER_MAY)
    row = next(iter(site.results(MAY).values()))
    assert (row["consumption_wh"], row["status"]) == (-50_000, "disputed")
    assert [f[2] for f in site.flags(MAY)] == ["estimate_overshoot"]


def test_march_has_743_hours(site: Site) -> None:
    p = site.point(24)
    site.series(p.meter_id, 0, kyiv(2026, 3, 1), kyiv(2026, 4, 1), step=QUARTER)
    march = date(2026, 3, 1)
    reconcile(site.url, period=march, now=kyiv(2026, 4, 10))
    assert site.results(march)[(p.eic, 0)]["consumption_wh"] == 743 * 4 * 100


def test_october_has_745_hours_and_the_extra_one_is_night(site: Site) -> None:
    single = site.point(25)
    split = site.point(26, plan="two_zone", registers=(0,))  # one total register, two zones
    for p in (single, split):
        site.series(p.meter_id, 0, kyiv(2026, 10, 1), kyiv(2026, 11, 1), step=QUARTER)
    october = date(2026, 10, 1)
    reconcile(site.url, period=october, now=kyiv(2026, 11, 10))
    rows = site.results(october)
    assert rows[(single.eic, 0)]["consumption_wh"] == 745 * 4 * 100
    assert rows[(split.eic, 0)]["consumption_wh"] == 298_000
    assert rows[(split.eic, 2)]["consumption_wh"] == (31 * 8 + 1) * 400  # night, 23:00-07:00
    assert rows[(split.eic, 1)]["consumption_wh"] == 31 * 16 * 400  # day
    assert (rows[(split.eic, 1)]["zone"], rows[(split.eic, 2)]["zone"]) == ("day", "night")
    # The total register is kept for the chain but the zones are the bill.
    assert [rows[(split.eic, r)]["billed"] for r in (0, 1, 2)] == [False, True, True]


def _zoned(site: Site, n: int, plan: str, watts: int = 400) -> tuple[str, int]:
    """A native multi-zone meter: each hour's energy goes to the zone in force."""
    from drivers.domain import Plan, TariffCalendar

    p = site.point(n, plan=plan)
    calendar = TariffCalendar()
    start, end = kyiv(2026, 5, 1), kyiv(2026, 6, 1, 1)
    values: dict[int, list] = {}
    totals: dict[int, int] = {}
    at = start
    while at <= end:
        for r in {w.register for w in calendar.version_for(Plan(plan), MAY).windows}:
            values.setdefault(r, []).append((at, 1_000_000 + totals.get(r, 0)))
        zone = calendar.zone_at(Plan(plan), at).register
        totals[zone] = totals.get(zone, 0) + watts
        at += timedelta(hours=1)
    for r, rows in values.items():
        site.reads(p.meter_id, r, rows)
    return p.eic, p.id


def test_two_and_three_zone_meters_bill_each_zone(site: Site) -> None:
    two, _ = _zoned(site, 27, "two_zone")
    three, _ = _zoned(site, 28, "three_zone")
    reconcile(site.url, period=MAY, now=AFTER_MAY)
    rows = site.results(MAY)
    got = {(eic, r): (row["zone"], row["consumption_wh"]) for (eic, r), row in rows.items()}
    assert got == {
        (two, 1): ("day", 31 * 16 * 400),
        (two, 2): ("night", 31 * 8 * 400),
        (three, 1): ("peak", 31 * 5 * 400),
        (three, 2): ("half_peak", 31 * 11 * 400),
        (three, 3): ("night", 31 * 8 * 400),
    }
    assert all(row["status"] == "actual" for row in rows.values())


def test_calendar_change_mid_month_splits_each_day_by_its_version(site: Site) -> None:
    # From 15 July the night runs 22:00-08:00 (10 hours) instead of 23:00-07:00.
    site.execute(
        "INSERT INTO tariff_calendars (plan, effective_from, zone, register, start_local,"
        " end_local, coefficient) VALUES"
        " ('two_zone', '2026-07-15', 'night', 2, '00:00', '08:00', 0.5),"
        " ('two_zone', '2026-07-15', 'day', 1, '08:00', '22:00', 1.0),"
        " ('two_zone', '2026-07-15', 'night', 2, '22:00', '00:00', 0.5)"
    )
    p = site.point(29, plan="two_zone", registers=(0,))
    site.series(p.meter_id, 0, kyiv(2026, 7, 1), kyiv(2026, 8, 1), per_step_wh=400)
    july = date(2026, 7, 1)
    reconcile(site.url, period=july, now=kyiv(2026, 8, 10))
    rows = site.results(july)
    night_hours = 14 * 8 + 17 * 10
    assert rows[(p.eic, 2)]["consumption_wh"] == night_hours * 400
    assert rows[(p.eic, 1)]["consumption_wh"] == (744 - night_hours) * 400
    assert rows[(p.eic, 0)]["consumption_wh"] == 744 * 400
