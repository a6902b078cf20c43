"""Daily/monthly rollups equal a brute-force computation from raw rows, on every backend."""

import asyncio
from collections import defaultdict
from datetime import UTC, datetime, timedelta

import psycopg
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from drivers.domain import KYIV, Reading, Source
from ingest import rollups
from ingest.store import open_store
from tests.factories import add_meter
from tests.fixtures.db import empty_store

WINDOW_START = datetime(2026, 10, 23, 21, 0, tzinfo=UTC)  # 24 Oct local midnight; DST ends 25 Oct


def _backend(url: str) -> str:
    with psycopg.connect(url) as conn:
        row = conn.execute("SELECT backend FROM store_backend").fetchone()
    assert row is not None
    return str(row[0])


def brute_force(readings: list[Reading], ids: dict[str, int], unit: str) -> set[tuple]:
    groups: dict[tuple, list[Reading]] = defaultdict(list)
    for r in readings:
        local = r.read_at.astimezone(KYIV)
        start = local.replace(hour=0, minute=0, second=0, microsecond=0)
        if unit == "month":
            start = start.replace(day=1)
        bucket = datetime(start.year, start.month, start.day, tzinfo=KYIV).astimezone(UTC)
        groups[(ids[r.meter], r.register, r.source.db_code, bucket)].append(r)
    out = set()
    for key, rs in groups.items():
        rs.sort(key=lambda r: r.read_at)
        values = [r.value_wh for r in rs]
        out.add((*key, rs[0].read_at, rs[0].value_wh, rs[-1].read_at, rs[-1].value_wh,
                 min(values), max(values), len(rs)))  # fmt: skip
    return out


def stored(url: str, view: str) -> set[tuple]:
    with psycopg.connect(url) as conn:
        rows = conn.execute(
            f"SELECT meter_id, register, source, bucket, first_at, first_wh, last_at, last_wh,"
            f" min_wh, max_wh, n FROM {view}"
        ).fetchall()
    return {tuple(r) for r in rows}


def _unique(readings: list[Reading]) -> list[Reading]:
    seen: dict[tuple, Reading] = {}
    for r in readings:
        seen.setdefault((r.meter, r.register, r.read_at, r.source), r)
    return list(seen.values())


reading_st = st.builds(
    lambda meter, register, minutes, value, source: Reading(
        meter=meter, register=register, value_wh=value, source=source,
        read_at=WINDOW_START + timedelta(minutes=minutes),
    ),
    meter=st.sampled_from(["R1", "R2"]),
    register=st.sampled_from([0, 1]),
    minutes=st.integers(0, 4 * 24 * 60),
    value=st.integers(0, 10**9),
    source=st.sampled_from([Source.AUTO, Source.CONSUMER]),
)  # fmt: skip


@settings(
    max_examples=25, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(
    batches=st.lists(st.lists(reading_st, min_size=1, max_size=40), min_size=1, max_size=4),
    refresh_after=st.lists(st.integers(0, 5 * 24), max_size=3),
)
def test_rollups_equal_brute_force(
    store_url: str, batches: list[list[Reading]], refresh_after: list[int]
) -> None:
    empty_store(store_url)
    ids = {"R1": add_meter(store_url, "R1", digits=7), "R2": add_meter(store_url, "R2", digits=7)}
    backend = _backend(store_url)
    written: list[Reading] = []

    async def run() -> None:
        async with open_store(store_url) as store:
            for i, batch in enumerate(batches):
                await store.writer.write(batch)
                written.extend(batch)
                if i < len(refresh_after):
                    # Refresh as if "now" were some hours into the window: later
                    # batches then land below the watermark (late data).
                    now = WINDOW_START + timedelta(hours=refresh_after[i])
                    await asyncio.to_thread(rollups.refresh, store_url, backend, now=now)  # type: ignore[arg-type]

    asyncio.run(run())
    rows = _unique(written)
    rollups.refresh(store_url, backend, now=WINDOW_START + timedelta(days=10))  # type: ignore[arg-type]
    assert stored(store_url, "readings_daily") == brute_force(rows, ids, "day")
    assert stored(store_url, "readings_monthly") == brute_force(rows, ids, "month")


def test_dst_days_are_23_and_25_hour_buckets(store_url: str) -> None:
    add_meter(store_url, "D1")
    readings = []
    for day_start, hours in (
        (datetime(2026, 3, 28, 22, tzinfo=UTC), 23),
        (datetime(2026, 10, 24, 21, tzinfo=UTC), 25),
    ):
        readings += [
            Reading(
                meter="D1", register=0, read_at=day_start + timedelta(minutes=15 * i), value_wh=i
            )
            for i in range(hours * 4 + 1)  # through the next local midnight
        ]

    async def run() -> None:
        async with open_store(store_url) as store:
            await store.writer.write(readings)

    asyncio.run(run())
    for now in (datetime(2026, 3, 1, tzinfo=UTC), datetime(2026, 12, 1, tzinfo=UTC)):
        rollups.refresh(store_url, _backend(store_url), now=now)  # type: ignore[arg-type]
        with psycopg.connect(store_url) as conn:
            rows = conn.execute(
                "SELECT bucket, n, last_at - first_at FROM readings_daily ORDER BY bucket"
            ).fetchall()
        assert rows == [
            (
                datetime(2026, 3, 28, 22, tzinfo=UTC),
                23 * 4,
                timedelta(hours=23) - timedelta(minutes=15),
            ),
            (datetime(2026, 3, 29, 21, tzinfo=UTC), 1, timedelta(0)),
            (
                datetime(2026, 10, 24, 21, tzinfo=UTC),
                25 * 4,
                timedelta(hours=25) - timedelta(minutes=15),
            ),
            (datetime(2026, 10, 25, 22, tzinfo=UTC), 1, timedelta(0)),
        ]
