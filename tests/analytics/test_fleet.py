"""Completeness, top consumers and load profile against brute-force pandas."""

from __future__ import annotations

from datetime import datetime

import pandas as pd
import psycopg
import pytest

from drivers.domain import KYIV
from ingest import analytics
from ingest.analytics.buckets import BucketSize, table_for
from tests.analytics import brute
from tests.analytics.world import World

AUTUMN = (datetime(2026, 10, 23, tzinfo=KYIV), datetime(2026, 10, 30, tzinfo=KYIV))


def frame(url: str, query: analytics.Query) -> pd.DataFrame:
    with psycopg.connect(url) as conn:
        return pd.DataFrame(analytics.fetch_sync(conn, query), columns=list(query.names))


COMPLETENESS = [
    (("day", "region"), False, True),
    (("day",), False, True),
    (("region",), False, True),
    (("day",), True, True),
    (("day",), False, False),
]


@pytest.mark.parametrize(("by", "strict", "rollups"), COMPLETENESS,
                         ids=["day+region", "day", "region", "strict", "raw"])  # fmt: skip
def test_completeness_equal_brute_force(
    seeded: World, raw: brute.Store, by: tuple[str, ...], strict: bool, rollups: bool
) -> None:
    query = analytics.completeness(
        analytics.Selection(),
        *AUTUMN,
        seeded.backend,
        by=by,
        strict=strict,
        rollups=rollups,  # type: ignore[arg-type]
    )
    assert query.table == ("readings_daily" if rollups and not strict else "readings")
    # Compare in one order whatever the database's collation.
    got = frame(seeded.url, query).sort_values(list(by)).reset_index(drop=True)
    want = brute.completeness(raw, *AUTUMN, by, strict=strict)
    want = want.sort_values(list(by)).reset_index(drop=True)
    assert len(got) == len(want) > 0
    for c in by:
        values = [v.to_pydatetime() for v in want[c]] if c == "day" else list(want[c])
        assert list(got[c]) == values
    assert list(got.meters) == list(want.meters)
    assert list(got.reporting) == [int(v) for v in want.reporting]
    assert list(got.share) == pytest.approx(list(want.share))


def test_completeness_sees_gaps_questionable_reads_and_replacements(seeded: World) -> None:
    def day_share(strict: bool, **filters: str) -> dict[int, tuple[int, int]]:
        query = analytics.completeness(
            analytics.Selection(**filters), *AUTUMN, seeded.backend, by=("day",), strict=strict
        )
        got = frame(seeded.url, query)
        return {
            d.astimezone(KYIV).day: (m, r)
            for d, m, r in zip(got.day, got.meters, got.reporting, strict=True)
        }

    gap = day_share(False, serial="GAP-1")
    assert gap[25] == (1, 1)
    assert gap[26] == (1, 0)
    assert gap[27] == (1, 1)
    assert day_share(False, serial="Q-1")[26] == (1, 1)
    assert day_share(True, serial="Q-1")[26] == (1, 0)
    point = day_share(False, address="Ковель, вул. Нова, 5")  # OLD-1 then NEW-1
    assert point[24] == (1, 1)
    assert point[25] == (2, 2)
    assert point[26] == (1, 1)
    assert point[23] == (1, 0)  # installed, no reads yet


@pytest.mark.parametrize(
    ("start", "end", "size"),
    [
        (datetime(2026, 10, 1, tzinfo=KYIV), datetime(2026, 11, 1, tzinfo=KYIV), "month"),
        (datetime(2026, 3, 1, tzinfo=KYIV), datetime(2026, 11, 1, tzinfo=KYIV), "month"),
        (datetime(2026, 10, 25, tzinfo=KYIV), datetime(2026, 10, 27, tzinfo=KYIV), "day"),
        (datetime(2026, 10, 24, 9, tzinfo=KYIV), datetime(2026, 10, 26, 18, tzinfo=KYIV), "hour"),
        (
            datetime(2026, 10, 24, 9, 15, tzinfo=KYIV),
            datetime(2026, 10, 26, 9, tzinfo=KYIV),
            "15min",
        ),
    ],
    ids=["october", "spring-to-autumn", "days", "hours", "quarter-hours"],
)
def test_top_consumers_equal_brute_force(
    seeded: World, raw: brute.Store, start: datetime, end: datetime, size: BucketSize
) -> None:
    query = analytics.top_consumers(analytics.Selection(), start, end, seeded.backend, n=8)
    assert query.table == table_for(size, seeded.backend)  # type: ignore[arg-type]
    got = frame(seeded.url, query)
    want = brute.top(raw, start, end, size, n=8)
    assert list(got["rank"]) == list(range(1, len(want) + 1))
    assert len(got) == 8
    assert list(got.serial) == list(want.serial)
    assert [None if pd.isna(v) else int(v) for v in got.wh] == [
        None if pd.isna(v) else int(v) for v in want.wh
    ]


def test_top_consumers_rank_unknown_last(seeded: World) -> None:
    start, end = datetime(2026, 10, 1, tzinfo=KYIV), datetime(2026, 11, 1, tzinfo=KYIV)
    query = analytics.top_consumers(analytics.Selection(), start, end, seeded.backend, n=100)
    got = frame(seeded.url, query)
    assert got.serial.iloc[-1] == "RS-1"  # reset: unknown
    assert pd.isna(got.wh.iloc[-1])
    assert got.wh.iloc[:-1].notna().all()
    ro = int(got.loc[got.serial == "RO-1", "wh"].iloc[0])
    assert ro == 300 * 4 * 24 * 4  # across the rollover


def test_top_consumers_total_is_the_register_advance(seeded: World, raw: brute.Store) -> None:
    """For a meter read every 15 minutes, the period total is the register at the
    first read at or after the end minus the register at the start."""
    start, end = datetime(2026, 10, 25, tzinfo=KYIV), datetime(2026, 10, 27, tzinfo=KYIV)
    query = analytics.top_consumers(analytics.Selection(serial="SN00000010"), start, end,
                                    seeded.backend, n=1)  # fmt: skip
    (got,) = frame(seeded.url, query).wh
    r = raw.readings
    meter = int(raw.meters.loc[raw.meters.serial == "SN00000010", "id"].iloc[0])
    reads = r[(r.meter_id == meter) & (r.source == 1)].set_index("read_at").value_wh
    assert got == reads[pd.Timestamp(end)] - reads[pd.Timestamp(start)]


def test_load_profile_equal_brute_force(seeded: World, raw: brute.Store) -> None:
    query = analytics.load_profile(analytics.Selection(), *AUTUMN, seeded.backend)
    assert query.table == "readings"
    got = frame(seeded.url, query)
    want = brute.load_profile(brute.usage(raw, *AUTUMN, "hour"))
    assert list(zip(got.plan, got.hour, got.samples, strict=True)) == list(
        zip(want.plan, want.hour, want.samples, strict=True)
    )
    assert list(got.mean_wh) == pytest.approx(list(want.mean_wh))
    assert set(got.plan) == {"single", "two_zone", "three_zone"}


def test_selection_rejects_empty_filters() -> None:
    with pytest.raises(ValueError, match="region"):
        analytics.Selection(region="")
    with pytest.raises(ValueError, match="zone"):
        analytics.completeness(
            analytics.Selection(zone="night"), *AUTUMN, "postgresql", by=("day",)
        )
    with pytest.raises(ValueError, match="15-minute"):
        analytics.top_consumers(
            analytics.Selection(), datetime(2026, 1, 1, 0, 7, tzinfo=KYIV), AUTUMN[1], "postgresql"
        )
