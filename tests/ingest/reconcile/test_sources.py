"""One named scenario per source rule, with the exact Wh expected."""

from datetime import date, timedelta

import psycopg

from drivers.domain import Source
from ingest.reconcile import bounds, reconcile
from ingest.reconcile.candidates import MANUAL, gather, gather_params, instant
from ingest.reconcile.policy import Policy
from ingest.reconcile.session import tune
from ingest.reconcile.work import _fill_scope
from tests.ingest.reconcile.conftest import Site, kyiv

MAY = date(2026, 5, 1)
AFTER_MAY = kyiv(2026, 6, 10)
HOUR = timedelta(hours=1)


def test_automatic_only_interpolates_to_both_cutoffs(site: Site) -> None:
    p = site.point(1)
    # Reads at half past each hour: both cut-offs fall between two reads.
    site.series(p.meter_id, 0, kyiv(2026, 4, 29, 0, 30), kyiv(2026, 6, 2, 0, 30))
    summary = reconcile(site.url, period=MAY, now=AFTER_MAY)
    row = site.results(MAY)[(p.eic, 0)]
    assert summary.versions == 1
    assert row["consumption_wh"] == 744 * 100  # 31 days × 24 h × 100 Wh
    assert (row["source"], row["status"], row["zone"]) == ("auto", "actual", "total")
    assert row["opening_wh"] == 10_000_000 + (48 * 100) - 50
    assert "interpolated" in row["reason"]
    assert site.flags(MAY) == []


def test_consumer_only_counts_window_readings_at_the_cutoffs(site: Site) -> None:
    p = site.point(2)
    site.reads(
        p.meter_id,
        0,
        [(kyiv(2026, 4, 29, 18), 10_000_000), (kyiv(2026, 6, 3, 9), 10_250_000)],
        source=Source.CONSUMER,
    )
    reconcile(site.url, period=MAY, now=AFTER_MAY)
    row = site.results(MAY)[(p.eic, 0)]
    assert row["consumption_wh"] == 250_000
    assert (row["source"], row["status"]) == ("consumer", "actual")
    assert row["closing_at"] == kyiv(2026, 6, 1)


def test_controller_only_is_carried_at_the_average_daily_rate(site: Site) -> None:
    june = date(2026, 6, 1)
    p = site.point(3, installed=kyiv(2026, 6, 1), install_values={0: 10_000_000})
    site.reads(p.meter_id, 0, [(kyiv(2026, 6, 21), 10_200_000)], source=Source.CONTROLLER)
    reconcile(site.url, period=june, now=kyiv(2026, 7, 10))
    row = site.results(june)[(p.eic, 0)]
    # 200 kWh in 20 days since the install: 10 kWh/day, carried 10 days.
    assert row["consumption_wh"] == 300_000
    assert row["closing_wh"] == 10_300_000
    assert (row["source"], row["status"], row["opening_source"]) == (
        "controller",
        "actual",
        "install",
    )


def test_all_three_agreeing_use_the_automatic_reads(site: Site) -> None:
    p = site.point(4)
    site.series(p.meter_id, 0, kyiv(2026, 4, 30), kyiv(2026, 6, 2))
    at_cutoff = 10_000_000 + 24 * 100 + 744 * 100
    site.reads(p.meter_id, 0, [(kyiv(2026, 6, 2, 8), at_cutoff // 1000 * 1000 + 1000)],
               source=Source.CONSUMER)  # fmt: skip
    site.reads(p.meter_id, 0, [(kyiv(2026, 5, 20), 10_000_000 + 24 * 100 + 19 * 2400)],
               source=Source.CONTROLLER)  # fmt: skip
    reconcile(site.url, period=MAY, now=AFTER_MAY)
    row = site.results(MAY)[(p.eic, 0)]
    assert row["consumption_wh"] == 74_400
    assert (row["source"], row["status"]) == ("auto", "actual")
    assert set(row["detail"]["candidates"]) == {"auto", "consumer", "controller"}
    assert site.flags(MAY) == []


def test_divergence_beyond_tolerance_raises_a_flag(site: Site) -> None:
    p = site.point(5)
    site.series(p.meter_id, 0, kyiv(2026, 4, 30), kyiv(2026, 6, 2))
    at_cutoff = 10_000_000 + 24 * 100 + 744 * 100
    site.reads(p.meter_id, 0, [(kyiv(2026, 6, 1, 9), at_cutoff + 50_000)], source=Source.CONSUMER)
    reconcile(site.url, period=MAY, now=AFTER_MAY)
    row = site.results(MAY)[(p.eic, 0)]
    assert row["consumption_wh"] == 74_400  # the automatic reads still decide
    assert (row["source"], row["status"]) == ("auto", "disputed")
    assert site.flags(MAY) == [(p.eic, 0, "divergence")]


def test_the_last_automatic_read_is_found_far_before_the_closing_cutoff(site: Site) -> None:
    """The meter stopped on 11 May, far outside the interpolation span of the
    closing cut-off: the gather looks near the cut-off first, then in the rest
    of the period, and finds it (rates "from the period's automatic reads" use it)."""
    p = site.point(6)
    site.series(p.meter_id, 0, kyiv(2026, 4, 30), kyiv(2026, 5, 11), step=timedelta(days=1),
                per_step_wh=10_000)  # fmt: skip
    near = site.point(7)
    site.series(near.meter_id, 0, kyiv(2026, 5, 25), kyiv(2026, 5, 31, 23), step=HOUR)
    policy = Policy()
    params = gather_params(bounds(MAY, policy), policy)
    with psycopg.connect(site.url) as conn:
        tune(conn)
        _fill_scope(conn, sorted([p.id, near.id]))
        conn.execute(MANUAL, params)
        evidence = {e.point_id: e for e in gather(conn, params, 0, 1 << 30)}
    assert evidence[p.id].ab1_at is not None
    assert instant(evidence[p.id].ab1_at) == kyiv(2026, 5, 11)
    assert evidence[p.id].ab1_wh == 10_000_000 + 11 * 10_000
    assert evidence[p.id].aa1_at is None
    assert evidence[near.id].ab1_at is not None
    assert instant(evidence[near.id].ab1_at) == kyiv(2026, 5, 31, 23)
