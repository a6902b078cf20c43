"""The pandas client: DataFrames in kWh with a tz-aware Europe/Kyiv DatetimeIndex."""

from __future__ import annotations

from datetime import datetime

import pandas as pd
import pytest

from drivers.domain import KYIV
from ingest.analytics import Analytics
from ingest.analytics.client import local_time
from tests.analytics import brute
from tests.analytics.world import World


def test_series_frame(seeded: World, raw: brute.Store) -> None:
    a = Analytics(seeded.url)
    assert a.backend == seeded.backend
    df = a.series("2026-10-24", "2026-10-29", "day", region="Луцьк")
    assert isinstance(df.index, pd.DatetimeIndex)
    assert str(df.index.tz) == "Europe/Kyiv"
    assert df.index[0] == pd.Timestamp("2026-10-24", tz="Europe/Kyiv")
    assert str(df["interval_end"].dt.tz) == "Europe/Kyiv"
    assert list(df.columns) == ["interval_end", "serial", "eic", "region", "plan", "zone",
                                "register", "reads", "kwh"]  # fmt: skip
    u = brute.usage(raw, local_time("2026-10-24"), local_time("2026-10-29"), "day", region="Луцьк")
    want = u.sort_values(["bucket", "serial", "register"])
    assert list(df.kwh) == pytest.approx(list(want.wh / 1000), nan_ok=True)
    assert (df.index == pd.DatetimeIndex(want.bucket).tz_convert(KYIV)).all()


def test_aggregates_completeness_top_and_profile_frames(seeded: World) -> None:
    a = Analytics(seeded.url)
    agg = a.aggregates("2026-01-01", "2027-01-01", "month", by=["zone"], plan="two_zone")
    assert str(agg.index.tz) == "Europe/Kyiv"
    assert set(agg.zone) == {"day", "night"}
    assert {"meters", "sum_kwh", "mean_kwh", "p50_kwh", "p95_kwh"} <= set(agg.columns)
    assert (agg.sum_kwh > 0).all()

    comp = a.completeness("2026-10-23", "2026-10-30", by=["day"])
    assert str(comp.index.tz) == "Europe/Kyiv"
    assert len(comp) == 7
    assert comp.index[2] == pd.Timestamp("2026-10-25", tz="Europe/Kyiv")
    assert ((comp.share >= 0) & (comp.share <= 1)).all()

    top = a.top_consumers("2026-10-01", "2026-11-01", n=3)
    assert list(top.index) == [1, 2, 3]
    assert top.kwh.is_monotonic_decreasing

    profile = a.load_profile("2026-10-24", "2026-10-28")
    assert list(profile.index) == list(range(24))
    assert set(profile.columns) == {"single", "two_zone", "three_zone"}
    long = a.load_profile("2026-10-24", "2026-10-28", wide=False)
    assert list(long.columns) == ["plan", "hour", "samples", "mean_kwh"]


def test_raw_client_agrees_with_rollups(seeded: World) -> None:
    fast = Analytics(seeded.url).aggregates("2026-01-01", "2027-01-01", "quarter", by=["plan"])
    slow = Analytics(seeded.url, rollups=False).aggregates(
        "2026-01-01", "2027-01-01", "quarter", by=["plan"]
    )
    pd.testing.assert_frame_equal(fast, slow)


def test_local_time() -> None:
    assert local_time("2026-03-29 02:30") == datetime(2026, 3, 29, 2, 30, tzinfo=KYIV)
    assert local_time(datetime(2026, 1, 1, tzinfo=KYIV)) == datetime(2026, 1, 1, tzinfo=KYIV)
    assert local_time("2026-01-01T00:00:00+00:00").utcoffset() is not None
    with pytest.raises(Exception, match="3"):  # 03:30 happens twice on 25 October
        local_time("2026-10-25 03:30")
    with pytest.raises(Exception, match="3"):  # 03:30 never happens on 29 March
        local_time("2026-03-29 03:30")
