"""VEE rules in the reconciler: rollover only when plausible, drops and spikes
flagged, clock drift, future dates, zone count, duplicates across sources."""

from datetime import date, timedelta

from drivers.domain import Source
from ingest.reconcile import reconcile
from tests.ingest.reconcile.conftest import Site, kyiv

MAY = date(2026, 5, 1)
AFTER_MAY = kyiv(2026, 6, 10)


def test_rollover_at_ten_to_the_digits_kwh(site: Site) -> None:
    p = site.point(10, digits=5)  # rolls over at 100,000 kWh
    site.reads(p.meter_id, 0, [(kyiv(2026, 5, 1), 99_950_000), (kyiv(2026, 6, 1), 30_000)])
    reconcile(site.url, period=MAY, now=AFTER_MAY)
    row = site.results(MAY)[(p.eic, 0)]
    assert row["consumption_wh"] == 80_000
    assert row["status"] == "actual"
    assert row["detail"]["step"] == "rollover"


def test_implausible_drop_is_flagged_never_a_guessed_reset(site: Site) -> None:
    p = site.point(11)
    site.reads(p.meter_id, 0, [(kyiv(2026, 4, 30, 12), 10_000_000),
                               (kyiv(2026, 6, 2, 12), 9_000_000)],
               source=Source.CONSUMER)  # fmt: skip
    reconcile(site.url, period=MAY, now=AFTER_MAY)
    row = site.results(MAY)[(p.eic, 0)]
    assert row["consumption_wh"] is None
    assert row["status"] == "disputed"
    assert site.flags(MAY) == [(p.eic, 0, "implausible_drop"), (p.eic, 0, "no_data")]


def test_consumption_beyond_permitted_power_falls_back_to_the_next_source(site: Site) -> None:
    p = site.point(12, power_kw=3)  # at most 3 kW × 744 h = 2,232 kWh in May
    site.series(p.meter_id, 0, kyiv(2026, 4, 30), kyiv(2026, 5, 31), step=timedelta(days=1),
                per_step_wh=5_000)  # fmt: skip
    site.reads(p.meter_id, 0, [(kyiv(2026, 6, 1), 20_000_000)])  # a spike: 10,000 kWh
    site.reads(p.meter_id, 0, [(kyiv(2026, 6, 2), 10_160_000)], source=Source.CONSUMER)
    reconcile(site.url, period=MAY, now=AFTER_MAY)
    row = site.results(MAY)[(p.eic, 0)]
    assert row["consumption_wh"] == 155_000
    assert (row["source"], row["status"]) == ("consumer", "disputed")
    assert site.flags(MAY) == [(p.eic, 0, "implausible_consumption")]


def test_clock_drift_of_automatic_reads_is_flagged_and_not_used(site: Site) -> None:
    p = site.point(13)
    site.reads(p.meter_id, 0, [(kyiv(2026, 5, 1), 10_000_000)])
    # Stamped at the cut-off but received two hours earlier: the clock runs fast.
    site.reads(p.meter_id, 0, [(kyiv(2026, 6, 1), 10_300_000)], received_at=kyiv(2026, 5, 31, 22))
    site.reads(p.meter_id, 0, [(kyiv(2026, 6, 2, 10), 10_290_000)], source=Source.CONSUMER)
    reconcile(site.url, period=MAY, now=AFTER_MAY)
    row = site.results(MAY)[(p.eic, 0)]
    assert (row["consumption_wh"], row["source"]) == (290_000, "consumer")
    assert site.flags(MAY) == [(p.eic, 0, "clock_drift")]


def test_future_dated_reads_are_flagged_and_not_used(site: Site) -> None:
    p = site.point(14)
    site.reads(p.meter_id, 0, [(kyiv(2026, 5, 1), 10_000_000)])
    site.reads(p.meter_id, 0, [(kyiv(2026, 6, 1, 0, 15), 10_900_000)])
    # Judged at 00:10 on 1 June, the automatic read of 00:15 is in the future.
    reconcile(site.url, period=MAY, now=kyiv(2026, 6, 1, 0, 10))
    assert site.results(MAY) == {}  # nothing usable yet, and the window is still open
    assert site.flags(MAY) == [(p.eic, 0, "future_read")]
    reconcile(site.url, period=MAY, now=AFTER_MAY)
    row = site.results(MAY)[(p.eic, 0)]
    # The 00:15 read carried back 15 minutes at May's own rate (900 kWh in 44,655 min).
    assert (row["consumption_wh"], row["source"]) == (900_000 - 302, "auto")
    assert site.flags(MAY) == []  # the flag no longer applies: resolved by the reconciler


def test_zone_count_mismatch_is_flagged(site: Site) -> None:
    p = site.point(15, plan="three_zone", registers=(1, 2))
    site.series(p.meter_id, 1, kyiv(2026, 5, 1), kyiv(2026, 6, 1), step=timedelta(days=1))
    reconcile(site.url, period=MAY, now=AFTER_MAY)
    rows = site.results(MAY)
    assert {r for (_, r) in rows} == {1, 2, 3}
    assert all(r["consumption_wh"] is None and r["status"] == "disputed" for r in rows.values())
    assert site.flags(MAY) == [(p.eic, None, "zone_count")]


def test_duplicate_instants_across_sources_must_agree(site: Site) -> None:
    p = site.point(16)
    site.reads(p.meter_id, 0, [(kyiv(2026, 4, 30, 12), 10_000_000)], source=Source.CONSUMER)
    site.reads(p.meter_id, 0, [(kyiv(2026, 6, 2, 10), 10_100_000)], source=Source.CONSUMER)
    site.reads(p.meter_id, 0, [(kyiv(2026, 6, 2, 10), 10_105_000)], source=Source.CONTROLLER)
    reconcile(site.url, period=MAY, now=AFTER_MAY)
    row = site.results(MAY)[(p.eic, 0)]
    assert (row["consumption_wh"], row["status"]) == (100_000, "disputed")
    assert site.flags(MAY) == [(p.eic, 0, "duplicate_conflict")]
