"""Series and aggregates equal brute-force pandas computations from raw rows,
for every bucket size, from the rollups and from raw readings, on each backend."""

from __future__ import annotations

from datetime import datetime, timedelta

import pandas as pd
import psycopg
import pytest

from drivers.domain import KYIV, Plan, Source
from ingest import analytics
from ingest.analytics.buckets import BUCKET_SIZES, BucketSize
from tests.analytics import brute
from tests.analytics.world import NOW, World

YEAR = (datetime(2026, 1, 1, tzinfo=KYIV), datetime(2027, 1, 1, tzinfo=KYIV))
# Ends inside the data: the last bucket's end value comes from the bucket after.
CUT = (datetime(2026, 10, 24, 6, tzinfo=KYIV), datetime(2026, 10, 26, 13, tzinfo=KYIV))


def run(url: str, query: analytics.Query) -> list[tuple]:
    with psycopg.connect(url) as conn:
        return analytics.fetch_sync(conn, query)


def sql_series(world: World, period: analytics.Period, *, rollups: bool = True,
               **filters: object) -> set[tuple]:  # fmt: skip
    query = analytics.series(
        analytics.Selection(**filters),
        period,
        world.backend,
        rollups=rollups,  # type: ignore[arg-type]
    )
    return {(r[0], r[2], r[7], r[8], r[9]) for r in run(world.url, query)}


def brute_series(raw: brute.Store, period: analytics.Period, *, source: int = 1,
                 **filters: str | None) -> set[tuple]:  # fmt: skip
    u = brute.usage(raw, period.start, period.end, period.size, source=source, **filters)
    return {
        (b.to_pydatetime(), serial, int(reg), int(n), None if pd.isna(wh) else int(wh))
        for b, serial, reg, n, wh in zip(u.bucket, u.serial, u.register, u.n, u.wh, strict=True)
    }


@pytest.mark.parametrize("rollups", [True, False], ids=["rollups", "raw"])
@pytest.mark.parametrize("size", BUCKET_SIZES)
def test_series_equal_brute_force(
    seeded: World, raw: brute.Store, size: BucketSize, rollups: bool
) -> None:
    period = analytics.Period.covering(*YEAR, size)
    got = sql_series(seeded, period, rollups=rollups)
    assert got == brute_series(raw, period)
    assert len(got) > 20
    assert any(row[4] is None for row in got), "the reset meter gives an unknown bucket"


@pytest.mark.parametrize("size", ["15min", "hour", "day"])
def test_series_cut_inside_the_data(seeded: World, raw: brute.Store, size: BucketSize) -> None:
    period = analytics.Period.covering(*CUT, size)
    assert period.start != CUT[0] or size != "day"  # rounded out to whole buckets
    assert sql_series(seeded, period) == brute_series(raw, period)


@pytest.mark.parametrize(
    "filters",
    [
        {"region": "Луц"},
        {"address": "Ковель, вул. Нова"},
        {"plan": "two_zone"},
        {"zone": "night"},
        {"serial": "RO-1"},
        {"eic": None},  # replaced below by the EIC of a seeded point
        {"region": "Нема такого"},
    ],
    ids=["region", "address", "plan", "zone", "serial", "eic", "nothing"],
)
def test_series_filters(seeded: World, raw: brute.Store, filters: dict[str, str | None]) -> None:
    if "eic" in filters:
        filters = {"eic": str(raw.points.eic.iloc[3])}
    period = analytics.Period.covering(*YEAR, "day")
    typed = {k: Plan(v) if k == "plan" else v for k, v in filters.items()}
    got = sql_series(seeded, period, **typed)
    assert got == brute_series(raw, period, **filters)
    if "region" in filters and filters["region"] == "Нема такого":
        assert got == set()
    else:
        assert got


def test_consumer_source(seeded: World, raw: brute.Store) -> None:
    period = analytics.Period.covering(*YEAR, "day")
    got = sql_series(seeded, period, source=Source.CONSUMER)
    assert got == brute_series(raw, period, source=2)
    assert {serial for _, serial, *_ in got} == {"SN00000010"}
    assert sorted(wh for *_, wh in got) == [0, 20_000]


def test_rollover_is_counted_and_reset_is_unknown(seeded: World) -> None:
    period = analytics.Period.covering(*YEAR, "month")
    rows = {(s, wh) for _, s, _, _, wh in sql_series(seeded, period) if s in ("RO-1", "RS-1")}
    slots = 4 * 24 * 4  # 24–28 October UTC
    assert rows == {("RO-1", 300 * slots), ("RS-1", None)}


def test_gap_energy_lands_in_the_bucket_before_it(seeded: World) -> None:
    period = analytics.Period.covering(*YEAR, "day")
    rows = sorted((b, reg, wh) for b, s, reg, _, wh in sql_series(seeded, period) if s == "GAP-1")
    days = sorted({b for b, *_ in rows})
    # Reads stop 25 Oct 00:00 UTC (02:00 local) and restart 27 Oct 00:00 UTC:
    # local days 24, 25 (reads to 02:00 only), 27, 28 October.
    assert [d.astimezone(KYIV).day for d in days] == [24, 25, 27, 28]
    by_day = {(b.astimezone(KYIV).day, reg): wh for b, reg, wh in rows}
    # 25 Oct carries the whole gap: from its first read (00:00 local, 24 Oct 21:00 UTC)
    # to the first read after the gap (27 Oct 00:00 UTC): 51 hours.
    assert by_day[(25, 1)] == 200 * 4 * 51
    assert by_day[(25, 2)] == 100 * 4 * 51


AGG_CASES = [("month", ("zone",)), ("day", ("region", "plan")), ("quarter", ()),
             ("hour", ("zone",)), ("week", ("plan",))]  # fmt: skip


@pytest.mark.parametrize(
    ("size", "by"), AGG_CASES, ids=[f"{s}-{'+'.join(b) or 'all'}" for s, b in AGG_CASES]
)
def test_aggregates_equal_brute_force(
    seeded: World, raw: brute.Store, size: BucketSize, by: tuple[str, ...]
) -> None:
    period = analytics.Period.covering(*YEAR, size)
    query = analytics.aggregates(analytics.Selection(), period, seeded.backend, by=by)  # type: ignore[arg-type]
    got = pd.DataFrame(run(seeded.url, query), columns=list(query.names))
    want = brute.aggregates(brute.usage(raw, period.start, period.end, size), by)
    assert len(got) == len(want) > 0
    got = got.sort_values(["interval_start", *by]).reset_index(drop=True)
    want = want.sort_values(["bucket", *by]).reset_index(drop=True)
    assert [t.to_pydatetime() for t in want.bucket] == list(got.interval_start)
    for d in by:
        assert list(got[d]) == list(want[d])
    assert list(got.meters) == list(want.meters)
    assert list(got.sum_wh) == [int(v) for v in want.sum_wh]
    for c in ("mean_wh", "p50_wh", "p95_wh"):
        assert list(got[c]) == pytest.approx(list(want[c]), rel=1e-9)


def test_aggregates_leave_out_meters_with_an_unknown_zone(seeded: World) -> None:
    period = analytics.Period.covering(*YEAR, "month")
    selection = analytics.Selection(serial="RS-1")
    query = analytics.aggregates(selection, period, seeded.backend, by=())
    assert run(seeded.url, query) == []


def test_rollup_tables_are_the_ones_documented(seeded: World) -> None:
    def table(size: BucketSize, build: str) -> str:
        period = analytics.Period.covering(*YEAR, size)
        if build == "series":
            return analytics.series(analytics.Selection(), period, seeded.backend).table
        return analytics.aggregates(analytics.Selection(), period, seeded.backend).table

    monthly = "readings_daily"  # not readings_monthly: see buckets.table_for
    want = {
        "15min": "readings", "hour": "readings", "day": "readings_daily",
        "week": "readings_daily", "month": monthly, "quarter": monthly, "year": monthly,
    }  # fmt: skip
    for build in ("series", "aggregates"):
        assert {size: table(size, build) for size in BUCKET_SIZES} == want


@pytest.mark.parametrize("size", ["day", "week", "month", "year"])
@pytest.mark.parametrize(
    "filters",
    [{"address": "Ковель, вул. Нова"}, {"serial": "GAP-1"}, {"region": "Ков"}],
    ids=["address", "serial", "region"],
)
def test_narrow_and_broad_selections_agree(
    seeded: World, raw: brute.Store, size: BucketSize, filters: dict[str, str]
) -> None:
    """A few meters are probed by index, a fleet read in one pass at bucket starts:
    both equal brute force (the address and serial selections take the probes)."""
    period = analytics.Period.covering(*YEAR, size)
    query = analytics.aggregates(
        analytics.Selection(**filters), period, seeded.backend, by=("zone",)
    )
    got = {(r[0], r[2], r[4]) for r in run(seeded.url, query)}
    u = brute.usage(raw, period.start, period.end, size, **filters)
    want = brute.aggregates(u, ("zone",))
    assert got == {
        (b.to_pydatetime(), z, int(s))
        for b, z, s in zip(want.bucket, want.zone, want.sum_wh, strict=True)
    }
    assert got


@pytest.mark.parametrize("size", ["hour", "day", "week", "month", "quarter"])
@pytest.mark.parametrize(
    "filters", [{"serial": "NOW-1"}, {"region": "Луцьк"}], ids=["probe", "hits"]
)
def test_running_buckets_up_to_now(
    seeded: World, raw: brute.Store, size: BucketSize, filters: dict[str, str]
) -> None:
    """Buckets still running (reads up to now, rollup rows not materialized yet)."""
    period = analytics.Period.covering(NOW - timedelta(days=2), NOW + timedelta(minutes=1), size)
    query = analytics.aggregates(analytics.Selection(**filters), period, seeded.backend, by=())
    got = {(r[0], r[3]) for r in run(seeded.url, query)}
    want = brute.aggregates(brute.usage(raw, period.start, period.end, size, **filters), ())
    assert got == {
        (b.to_pydatetime(), int(s)) for b, s in zip(want.bucket, want.sum_wh, strict=True)
    }
    assert got
    assert sql_series(seeded, period, **filters) == brute_series(raw, period, **filters)
    if size in ("day", "hour"):
        top = analytics.top_consumers(
            analytics.Selection(**filters), period.start, period.end, seeded.backend, n=3
        )
        want_top = brute.top(raw, period.start, period.end, size, n=3, **filters)
        assert [(r[1], r[6]) for r in run(seeded.url, top)] == [
            (s, int(w)) for s, w in zip(want_top.serial, want_top.wh, strict=True)
        ]
