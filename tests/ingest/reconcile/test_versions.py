"""Versions, closing, late data, corrections, flag resolution, incremental runs."""

from datetime import date

import pytest

from drivers.domain import Source
from ingest.reconcile import (
    CorrectionRejected,
    PeriodClosed,
    PeriodNotDue,
    close_period,
    correct_period,
    reconcile,
    resolve_flag,
)
from tests.ingest.reconcile.conftest import Site, kyiv

MAY = date(2026, 5, 1)
JUNE = date(2026, 6, 1)
AFTER_MAY = kyiv(2026, 6, 10)


def _consumer_point(site: Site, n: int, opening_wh: int, closing_wh: int) -> tuple[str, int]:
    p = site.point(n)
    site.reads(p.meter_id, 0, [(kyiv(2026, 4, 30, 12), opening_wh),
                               (kyiv(2026, 6, 2, 12), closing_wh)],
               source=Source.CONSUMER)  # fmt: skip
    return p.eic, p.meter_id


def _versions(site: Site) -> list[tuple]:
    return site.execute(
        "SELECT period, register, version, consumption_wh, status, superseded_at IS NULL"
        " FROM period_reads ORDER BY period, register, version"
    )


def test_a_new_version_only_when_the_result_changes(site: Site) -> None:
    _, meter_id = _consumer_point(site, 30, 10_000_000, 10_100_000)
    first = reconcile(site.url, period=MAY, now=AFTER_MAY)
    again = reconcile(site.url, period=MAY, now=AFTER_MAY)
    assert (first.versions, again.versions) == (1, 0)
    # A later consumer reading in the window replaces the earlier one.
    site.reads(meter_id, 0, [(kyiv(2026, 6, 3, 9), 10_120_000)], source=Source.CONSUMER)
    third = reconcile(site.url, period=MAY, now=AFTER_MAY)
    assert third.versions == 1
    assert _versions(site) == [
        (MAY, 0, 1, 100_000, "actual", False),
        (MAY, 0, 2, 120_000, "actual", True),
    ]


def test_closing_freezes_and_late_data_raises_a_flag_instead(site: Site) -> None:
    eic, meter_id = _consumer_point(site, 31, 10_000_000, 10_100_000)
    with pytest.raises(PeriodNotDue):
        close_period(site.url, MAY, actor="op", now=kyiv(2026, 6, 3, 12))
    summary = close_period(site.url, MAY, actor="op", now=AFTER_MAY)
    assert (summary.versions, summary.mode) == (1, "close")
    with pytest.raises(PeriodClosed):
        close_period(site.url, MAY, actor="op", now=AFTER_MAY)
    # Automatic reads around the cut-off arrive after the close (a meter's buffer).
    site.reads(meter_id, 0, [(kyiv(2026, 5, 1), 10_000_500), (kyiv(2026, 6, 1), 10_090_500)])
    late = reconcile(site.url, incremental=True, now=kyiv(2026, 6, 20))
    assert (late.late, late.versions) == (1, 0)
    assert site.results(MAY)[(eic, 0)]["consumption_wh"] == 100_000  # the bill stands
    assert site.flags(MAY) == [(eic, 0, "late_data")]
    # A second run over the same late data raises nothing new.
    assert reconcile(site.url, incremental=True, now=kyiv(2026, 6, 20)).flags == 0
    closed = site.execute("SELECT status, closed_by FROM billing_periods WHERE period = %s", [MAY])
    assert closed == [("closed", "op")]


def test_operator_correction_changes_a_closed_period_with_author_and_reason(site: Site) -> None:
    eic, meter_id = _consumer_point(site, 32, 10_000_000, 10_100_000)
    site.reads(meter_id, 0, [(kyiv(2026, 7, 2, 12), 10_300_000)], source=Source.CONSUMER)
    close_period(site.url, MAY, actor="op", now=AFTER_MAY)
    reconcile(site.url, period=JUNE, now=kyiv(2026, 7, 10))
    with pytest.raises(CorrectionRejected):
        correct_period(site.url, point_eic=eic, period=MAY, register=0, closing_wh=9_000_000,
                       author="Ivanenko", reason="typo", now=kyiv(2026, 7, 10))  # fmt: skip
    correct_period(site.url, point_eic=eic, period=MAY, register=0, closing_wh=10_150_000,
                   author="Ivanenko", reason="photo: 10150", now=kyiv(2026, 7, 10))  # fmt: skip
    may, june = site.results(MAY)[(eic, 0)], site.results(JUNE)[(eic, 0)]
    assert (may["consumption_wh"], may["status"], may["version"]) == (150_000, "corrected", 2)
    assert "#1 by Ivanenko: photo: 10150" in may["reason"]
    assert (june["opening_wh"], june["consumption_wh"], june["version"]) == (10_150_000, 150_000, 2)
    audit = site.execute("SELECT actor, action FROM audit_log WHERE action = 'period.correct'")
    assert audit == [("Ivanenko", "period.correct")]


def test_resolved_flag_is_not_raised_again_and_the_status_clears(site: Site) -> None:
    p = site.point(33)
    site.series(p.meter_id, 0, kyiv(2026, 4, 30), kyiv(2026, 6, 2))
    at_cutoff = 10_000_000 + 24 * 100 + 744 * 100
    site.reads(p.meter_id, 0, [(kyiv(2026, 6, 1, 9), at_cutoff + 50_000)], source=Source.CONSUMER)
    reconcile(site.url, period=MAY, now=AFTER_MAY)
    assert site.results(MAY)[(p.eic, 0)]["status"] == "disputed"
    (flag_id,) = site.execute("SELECT id FROM review_flags")[0]
    resolve_flag(site.url, flag_id, actor="op", resolution="meter reads checked", now=AFTER_MAY)
    assert reconcile(site.url, period=MAY, now=AFTER_MAY).flags == 0
    assert site.results(MAY)[(p.eic, 0)]["status"] == "actual"
    assert site.flags(MAY) == []


def test_incremental_runs_take_only_points_with_new_data(site: Site) -> None:
    a = _consumer_point(site, 34, 10_000_000, 10_100_000)
    b = _consumer_point(site, 35, 20_000_000, 20_200_000)
    first = reconcile(site.url, incremental=True, now=AFTER_MAY)
    assert (first.points, first.versions, first.periods) == (2, 2, (MAY,))
    assert reconcile(site.url, incremental=True, now=AFTER_MAY).points == 0
    site.reads(b[1], 0, [(kyiv(2026, 6, 3, 20), 20_210_000)], source=Source.CONSUMER)
    third = reconcile(site.url, incremental=True, now=AFTER_MAY)
    assert (third.points, third.versions) == (1, 1)
    assert site.results(MAY)[(a[0], 0)]["version"] == 1
