"""Plain PostgreSQL: rows above the rollup watermark come live from raw readings.

The analytics SQL reads the watermark and queries the materialized rollup below
it and raw readings above it. Here the watermark is moved back into the middle
of the October data, so every query straddles it; the figures must not change.
"""

from __future__ import annotations

from collections.abc import Iterator
from datetime import datetime

import psycopg
import pytest

from drivers.domain import KYIV
from ingest import analytics, rollups
from tests.analytics import brute
from tests.analytics.test_series import YEAR, brute_series, sql_series
from tests.analytics.world import World

WATERMARK = datetime(2026, 10, 26, tzinfo=KYIV)
AUTUMN = (datetime(2026, 10, 23, tzinfo=KYIV), datetime(2026, 10, 30, tzinfo=KYIV))


@pytest.fixture
def straddled(seeded: World) -> Iterator[World]:
    if seeded.backend != "postgresql":
        pytest.skip("TimescaleDB keeps its own watermark inside the continuous aggregates")
    with psycopg.connect(seeded.url, autocommit=True) as conn:
        conn.execute("DELETE FROM readings_daily_mat WHERE bucket >= %s", (WATERMARK,))
        conn.execute("UPDATE rollup_state SET watermark = %s", (WATERMARK,))
    try:
        yield seeded
    finally:
        with psycopg.connect(seeded.url, autocommit=True) as conn:
            conn.execute("TRUNCATE readings_daily_mat")
            conn.execute("UPDATE rollup_state SET watermark = '1970-01-01 00:00+00'")
        rollups.refresh(seeded.url, "postgresql")


def test_live_rows_above_the_watermark(straddled: World, raw: brute.Store) -> None:
    with psycopg.connect(straddled.url) as conn:
        live = conn.execute(
            "SELECT count(*) FROM readings_daily_mat WHERE bucket >= %s", (WATERMARK,)
        ).fetchone()
    assert live == (0,)
    for size in ("day", "week", "month", "year"):
        period = analytics.Period.covering(*YEAR, size)  # type: ignore[arg-type]
        assert sql_series(straddled, period) == brute_series(raw, period), size
        query = analytics.aggregates(analytics.Selection(), period, straddled.backend, by=())
        with psycopg.connect(straddled.url) as conn:
            got = [(r[0], r[3]) for r in analytics.fetch_sync(conn, query)]
        want = brute.aggregates(brute.usage(raw, period.start, period.end, size), ())
        assert got == [
            (b.to_pydatetime(), int(s)) for b, s in zip(want.bucket, want.sum_wh, strict=True)
        ]
        # A narrow selection is probed by index on both sides of the watermark.
        narrow = analytics.Selection(address="Ковель, вул. Нова")
        query = analytics.aggregates(narrow, period, straddled.backend, by=())
        with psycopg.connect(straddled.url) as conn:
            got = [(r[0], r[3]) for r in analytics.fetch_sync(conn, query)]
        u = brute.usage(raw, period.start, period.end, size, address="Ковель, вул. Нова")
        want = brute.aggregates(u, ())
        assert got == [
            (b.to_pydatetime(), int(s)) for b, s in zip(want.bucket, want.sum_wh, strict=True)
        ]
    query = analytics.completeness(analytics.Selection(), *AUTUMN, "postgresql", by=("day",))
    with psycopg.connect(straddled.url) as conn:
        got = [tuple(r[1:3]) for r in analytics.fetch_sync(conn, query)]
    want = brute.completeness(raw, *AUTUMN, ("day",))
    assert got == [(int(m), int(r)) for m, r in zip(want.meters, want.reporting, strict=True)]
    start, end = datetime(2026, 10, 25, tzinfo=KYIV), datetime(2026, 10, 28, tzinfo=KYIV)
    query = analytics.top_consumers(analytics.Selection(), start, end, "postgresql", n=8)
    with psycopg.connect(straddled.url) as conn:
        got_top = [(r[1], r[6]) for r in analytics.fetch_sync(conn, query)]
    want_top = brute.top(raw, start, end, "day", n=8)
    assert got_top == [
        (s, None if w != w else int(w)) for s, w in zip(want_top.serial, want_top.wh, strict=True)
    ]
