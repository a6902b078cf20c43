"""Consumer submissions (P5): the preview, the checks, the confirmed reading."""

from datetime import date

import psycopg
import pytest

from drivers.domain import Source
from ingest.reconcile import (
    SubmissionRejected,
    confirm_submission,
    preview_submission,
    reconcile,
)
from tests.ingest.reconcile.conftest import Point, Site, kyiv

APRIL, MAY = date(2026, 4, 1), date(2026, 5, 1)
SUBMITTED = kyiv(2026, 6, 2, 10)  # in the window: counts as the reading of 1 June


def _two_zone_point(site: Site) -> Point:
    """April reconciled from consumer readings; a controller read both zones on 20 May."""
    p = site.point(40, plan="two_zone", power_kw=5)
    for register, (opening, closing) in {1: (9_700, 10_000), 2: (4_900, 5_000)}.items():
        site.reads(p.meter_id, register, [(kyiv(2026, 3, 30, 9), opening * 1000),
                                          (kyiv(2026, 4, 30, 9), closing * 1000)],
                   source=Source.CONSUMER)  # fmt: skip
    reconcile(site.url, period=APRIL, now=kyiv(2026, 5, 10))
    site.reads(p.meter_id, 1, [(kyiv(2026, 5, 20, 11), 10_200_000)], source=Source.CONTROLLER)
    site.reads(p.meter_id, 2, [(kyiv(2026, 5, 20, 11), 5_080_000)], source=Source.CONTROLLER)
    return p


async def test_preview_shows_each_zone_since_the_controller_and_for_the_period(site: Site) -> None:
    p = _two_zone_point(site)
    async with await psycopg.AsyncConnection.connect(site.url) as conn:
        preview = await preview_submission(
            conn, point_id=p.id, values_kwh={1: 10_350, 2: 5_130}, at=SUBMITTED
        )
    assert preview.errors == ()
    assert preview.period == MAY
    day, night = preview.zones
    assert (day.zone, day.value_kwh, day.previous_wh, day.previous_source) == (
        "day", 10_350, 10_200_000, "controller",
    )  # fmt: skip
    assert (day.since_controller_wh, day.period_total_wh) == (150_000, 350_000)
    assert (night.zone, night.since_controller_wh, night.period_total_wh) == (
        "night",
        50_000,
        130_000,
    )


@pytest.mark.parametrize(
    ("values", "error"),
    [
        ({1: 10_350}, "needs 2 value(s), one per zone"),
        ({1: 1_234_567, 2: 5_130}, "at most 6 digits"),
        ({1: 10_100, 2: 5_130}, "below the last reading 10200 kWh"),
        ({1: 15_000, 2: 5_130}, "more than the permitted power allows"),
    ],
)
async def test_preview_reports_bad_input_without_raising(
    site: Site, values: dict[int, int], error: str
) -> None:
    p = _two_zone_point(site)
    async with await psycopg.AsyncConnection.connect(site.url) as conn:
        preview = await preview_submission(conn, point_id=p.id, values_kwh=values, at=SUBMITTED)
    assert not preview.ok
    assert any(error in e for e in preview.errors), preview.errors


async def test_future_submissions_and_unknown_points_are_errors(site: Site) -> None:
    p = site.point(41)
    async with await psycopg.AsyncConnection.connect(site.url) as conn:
        future = await preview_submission(
            conn, point_id=p.id, values_kwh={0: 5}, at=kyiv(2099, 1, 1)
        )
        unknown = await preview_submission(conn, point_id=999_999, values_kwh={0: 5}, at=SUBMITTED)
    assert "the submission time is in the future" in future.errors
    assert unknown.errors == ("no metering point 999999",)


async def test_confirmed_submission_is_stored_and_used_for_the_period(site: Site) -> None:
    p = _two_zone_point(site)
    async with await psycopg.AsyncConnection.connect(site.url) as conn:
        submission_id = await confirm_submission(
            conn, point_id=p.id, values_kwh={1: 10_350, 2: 5_130}, at=SUBMITTED,
            submitted_by="user:17",
        )  # fmt: skip
        await conn.commit()
        with pytest.raises(SubmissionRejected, match="already exists"):
            await confirm_submission(conn, point_id=p.id, values_kwh={1: 10_351, 2: 5_131},
                                     at=SUBMITTED, submitted_by="user:17")  # fmt: skip
        await conn.rollback()
    stored = site.execute(
        "SELECT register, value_wh, source, quality, origin FROM readings"
        " WHERE read_at = %s ORDER BY register",
        [SUBMITTED],
    )
    assert stored == [
        (1, 10_350_000, 2, 0, f"submission:{submission_id}"),
        (2, 5_130_000, 2, 0, f"submission:{submission_id}"),
    ]
    assert site.execute("SELECT submitted_by, values_wh FROM consumer_submissions") == [
        ("user:17", [10_350_000, 5_130_000])
    ]
    reconcile(site.url, period=MAY, now=kyiv(2026, 6, 10))
    rows = site.results(MAY)
    assert rows[(p.eic, 1)]["consumption_wh"] == 350_000
    assert (rows[(p.eic, 1)]["source"], rows[(p.eic, 2)]["consumption_wh"]) == ("consumer", 130_000)
