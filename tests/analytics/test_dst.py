"""Local buckets across the DST changes: 29 March 2026 has 23 hours, 25 October 25."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import psycopg
import pytest

from drivers.domain import KYIV, Plan
from ingest import analytics
from ingest.analytics.buckets import BucketSize
from tests.analytics.world import World

SPRING_DAY = datetime(2026, 3, 29, tzinfo=KYIV)
AUTUMN_DAY = datetime(2026, 10, 25, tzinfo=KYIV)
SPRING_METER = "SN00000001"  # single zone, seeded 27–31 March
AUTUMN_METER = "SN00000010"  # single zone, seeded 24–28 October


def span(start: datetime, end: datetime) -> timedelta:
    """Elapsed time (Python ignores offsets when both sides share a tzinfo)."""
    return end.astimezone(UTC) - start.astimezone(UTC)


def series(
    world: World, serial: str, start: datetime, end: datetime, size: BucketSize
) -> list[tuple]:
    query = analytics.series(
        analytics.Selection(serial=serial),
        analytics.Period.covering(start, end, size),
        world.backend,
    )
    with psycopg.connect(world.url) as conn:
        return analytics.fetch_sync(conn, query)


@pytest.mark.parametrize(
    ("day", "serial", "hours"), [(SPRING_DAY, SPRING_METER, 23), (AUTUMN_DAY, AUTUMN_METER, 25)],
    ids=["spring", "autumn"],
)  # fmt: skip
def test_dst_day_buckets(seeded: World, day: datetime, serial: str, hours: int) -> None:
    next_day = day + timedelta(days=1)  # wall-clock arithmetic: the next local midnight
    (row,) = series(seeded, serial, day, next_day, "day")
    start, end, *_, reads, wh = row
    assert start == day
    assert end == next_day
    assert span(start, end) == timedelta(hours=hours)
    assert reads == 4 * hours
    hourly = series(seeded, serial, day, next_day, "hour")
    local_hours = [r[0].astimezone(KYIV).hour for r in hourly]
    if hours == 25:
        assert local_hours == [0, 1, 2, 3, *range(3, 24)]
    else:
        assert local_hours == [0, 1, 2, *range(4, 24)]
    assert all(span(r[0], r[1]) == timedelta(hours=1) for r in hourly)
    assert sum(r[-1] for r in hourly) == wh, "hours add up to the day"
    quarters = series(seeded, serial, day, next_day, "15min")
    assert len(quarters) == 4 * hours
    assert sum(r[-1] for r in quarters) == wh


def test_week_and_month_buckets_span_the_change(seeded: World) -> None:
    (week,) = series(seeded, AUTUMN_METER, AUTUMN_DAY, AUTUMN_DAY + timedelta(hours=1), "week")
    assert week[0] == datetime(2026, 10, 19, tzinfo=KYIV)  # a Monday
    assert span(week[0], week[1]) == timedelta(days=7, hours=1)
    (october,) = series(seeded, AUTUMN_METER, AUTUMN_DAY, AUTUMN_DAY + timedelta(hours=1), "month")
    assert span(october[0], october[1]) == timedelta(days=31, hours=1)
    (march,) = series(seeded, SPRING_METER, SPRING_DAY, SPRING_DAY + timedelta(hours=1), "month")
    assert span(march[0], march[1]) == timedelta(days=31, hours=-1)
    (q4,) = series(seeded, AUTUMN_METER, AUTUMN_DAY, AUTUMN_DAY + timedelta(hours=1), "quarter")
    assert (q4[0], q4[1]) == (datetime(2026, 10, 1, tzinfo=KYIV), datetime(2027, 1, 1, tzinfo=KYIV))


@pytest.mark.parametrize(
    ("day", "hour3"), [(SPRING_DAY, 0), (AUTUMN_DAY, 2)], ids=["spring", "autumn"]
)
def test_load_profile_counts_dst_hours(seeded: World, day: datetime, hour3: int) -> None:
    query = analytics.load_profile(
        analytics.Selection(plan=Plan.SINGLE), day, day + timedelta(days=1),
        seeded.backend,
    )  # fmt: skip
    with psycopg.connect(seeded.url) as conn:
        rows = analytics.fetch_sync(conn, query)
    samples = {hour: n for _, hour, n, _ in rows}
    assert samples.get(3, 0) == hour3 * samples[2]
    assert len(samples) == (23 if hour3 == 0 else 24)
