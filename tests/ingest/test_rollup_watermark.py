"""The daily rollup's two halves meet at ``rollup_watermark()`` on every backend.

``readings_daily_mat`` holds materialized days below the watermark; the
``readings_daily`` view adds raw readings at or above it. The analytics queries
rely on that split, so it is checked against brute force at a watermark in the
middle of the data.
"""

import asyncio
from datetime import UTC, datetime, timedelta

import psycopg
import pytest

from drivers.domain import KYIV, Reading
from ingest import rollups
from ingest.store import open_store
from tests.factories import add_meter
from tests.ingest.test_rollups import _backend, brute_force, stored

START = datetime(2026, 10, 20, tzinfo=KYIV)
DAYS = 8


def _write(url: str, readings: list[Reading]) -> None:
    async def run() -> None:
        async with open_store(url) as store:
            await store.writer.write(readings)

    asyncio.run(run())


def _hourly(meter: str) -> list[Reading]:
    return [
        Reading(meter=meter, register=0, read_at=START + timedelta(hours=h), value_wh=1000 * h)
        for h in range(DAYS * 24)
    ]


def _watermark(url: str) -> datetime:
    with psycopg.connect(url) as conn:
        row = conn.execute("SELECT rollup_watermark()").fetchone()
    assert row is not None
    value: datetime = row[0]
    return value


def test_halves_meet_at_the_watermark(store_url: str) -> None:
    ids = {"W1": add_meter(store_url, "W1"), "W2": add_meter(store_url, "W2")}
    readings = _hourly("W1") + _hourly("W2")
    _write(store_url, readings)
    backend = _backend(store_url)
    assert _watermark(store_url) == datetime(1970, 1, 1, tzinfo=UTC)  # nothing materialized

    # "Now" is 25 Oct 10:00 Kyiv (the 25-hour day): days up to 24 Oct are complete.
    rollups.refresh(store_url, backend, now=datetime(2026, 10, 25, 10, tzinfo=KYIV))  # type: ignore[arg-type]
    mark = _watermark(store_url)
    assert mark == datetime(2026, 10, 25, tzinfo=KYIV)
    with psycopg.connect(store_url) as conn:
        above = conn.execute(
            "SELECT count(*) FROM readings_daily_mat WHERE bucket >= rollup_watermark()"
        ).fetchone()
        below = conn.execute(
            "SELECT count(DISTINCT bucket) FROM readings_daily_mat"
            " WHERE bucket < rollup_watermark()"
        ).fetchone()
    assert above == (0,)
    assert below == (5,)  # 20-24 October
    assert stored(store_url, "readings_daily") == brute_force(readings, ids, "day")

    # Late data below the watermark shows after the next refresh, not before.
    late = Reading(meter="W1", register=0, read_at=START + timedelta(minutes=30), value_wh=500)
    _write(store_url, [late])
    rollups.refresh(store_url, backend, now=datetime(2026, 10, 25, 10, tzinfo=KYIV))  # type: ignore[arg-type]
    assert stored(store_url, "readings_daily") == brute_force([*readings, late], ids, "day")


def test_plain_postgresql_view_carries_the_watermark_as_a_constant(store_url: str) -> None:
    """Moving the watermark rewrites the view with a literal the planner can use,
    whatever the session's DateStyle; moving it by hand (tests do) works too."""
    if _backend(store_url) != "postgresql":
        pytest.skip("plain PostgreSQL only: TimescaleDB folds its own watermark function")
    with psycopg.connect(store_url, autocommit=True) as conn:
        conn.execute("SET datestyle = 'SQL, DMY'")
        conn.execute("SET timezone = 'America/New_York'")
        conn.execute("UPDATE rollup_state SET watermark = '2026-10-25 00:00+03'")
        conn.execute("SET datestyle = 'ISO, YMD'")
        definition = conn.execute("SELECT pg_get_viewdef('readings_daily')").fetchone()
        assert definition is not None
        assert "subplan" not in definition[0].lower()
        assert "rollup_state" not in definition[0]
        mark = conn.execute(
            "SELECT %s::timestamptz = '2026-10-24 21:00+00'",
            (definition[0].split("m.bucket < '")[1].split("'")[0],),
        ).fetchone()
        assert mark == (True,)
        conn.execute("UPDATE rollup_state SET watermark = '1970-01-01 00:00+00'")


def _month_watermark(url: str) -> datetime:
    """``rollup_watermarks``'s month; its day must be ``rollup_watermark()``."""
    with psycopg.connect(url) as conn:
        row = conn.execute(
            "SELECT month_watermark, day_watermark = rollup_watermark() FROM rollup_watermarks"
        ).fetchone()
    assert row is not None
    assert row[1] is True
    value: datetime = row[0]
    return value


def test_whole_months_are_materialized_and_late_data_reaches_them(store_url: str) -> None:
    """Both backends keep whole months in ``readings_monthly_mat`` below
    ``rollup_watermarks.month_watermark`` and group the running month from the daily
    rollup; late data for a materialized month is folded in at the next
    refresh. Both give the brute-force months throughout."""
    ids = {"W1": add_meter(store_url, "W1")}
    backend = _backend(store_url)
    # 20 Oct .. 10 Nov, hourly: October ends inside the data
    readings = [
        Reading(meter="W1", register=0, read_at=START + timedelta(hours=h), value_wh=1000 * h)
        for h in range(21 * 24)
    ]
    _write(store_url, readings)
    assert _month_watermark(store_url) <= datetime(1970, 1, 1, tzinfo=UTC)  # nothing yet
    rollups.refresh(store_url, backend, now=datetime(2026, 11, 5, 12, tzinfo=KYIV))  # type: ignore[arg-type]
    assert stored(store_url, "readings_monthly") == brute_force(readings, ids, "month")
    assert _watermark(store_url) == datetime(2026, 11, 5, tzinfo=KYIV)
    assert _month_watermark(store_url) == datetime(2026, 11, 1, tzinfo=KYIV)
    with psycopg.connect(store_url) as conn:
        months = conn.execute("SELECT bucket, n FROM readings_monthly_mat").fetchall()
        definition = conn.execute("SELECT pg_get_viewdef('readings_monthly')").fetchone()
    october = sum(r.read_at.astimezone(KYIV).month == 10 for r in readings)
    assert months == [(datetime(2026, 10, 1, tzinfo=KYIV), october)]  # November is live
    assert definition is not None
    assert "readings_monthly_mat" in definition[0]
    assert "readings_daily" in definition[0]  # the running month comes from the days
    if backend == "timescaledb":  # a year of months in one or two chunks, not twelve
        with psycopg.connect(store_url) as conn:
            interval = conn.execute(
                """SELECT d.time_interval FROM timescaledb_information.dimensions d
                   JOIN timescaledb_information.continuous_aggregates c
                     ON c.materialization_hypertable_name = d.hypertable_name
                   WHERE c.view_name = 'readings_monthly_mat'"""
            ).fetchone()
        assert interval == (timedelta(days=365),)

    late = [
        Reading(meter="W1", register=0, read_at=START - timedelta(days=3), value_wh=1),
        Reading(meter="W1", register=0, read_at=START + timedelta(minutes=30), value_wh=500),
    ]
    _write(store_url, late)
    assert stored(store_url, "readings_monthly") != brute_force([*readings, *late], ids, "month")
    rollups.refresh(store_url, backend, now=datetime(2026, 11, 5, 12, tzinfo=KYIV))  # type: ignore[arg-type]
    assert stored(store_url, "readings_monthly") == brute_force([*readings, *late], ids, "month")
