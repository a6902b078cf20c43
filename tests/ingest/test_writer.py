"""The batch writer: exactly once, dead letters with reasons, typed failure."""

import asyncio
from datetime import UTC, datetime, timedelta

import psycopg
import pytest

from drivers.domain import DeadLetter, Reading, Source
from ingest.errors import StoreUnavailable
from ingest.store import Store, open_store
from ingest.writer import WriteResult
from tests.factories import T0, add_meter, count_readings, series


async def test_same_batch_twice_stores_once(store: Store) -> None:
    add_meter(store.conninfo, "A1")
    batch = series("A1", count=500)
    first = await store.writer.write(batch)
    again = await store.writer.write(batch)
    assert first == WriteResult(inserted=500)
    assert again == WriteResult(inserted=0, duplicates=500)
    assert count_readings(store.conninfo) == 500


async def test_overlapping_batches_store_the_union(store: Store) -> None:
    add_meter(store.conninfo, "A1")
    rows = series("A1", count=300)
    r1 = await store.writer.write(rows[:200])
    r2 = await store.writer.write(rows[100:])
    assert (r1.inserted, r2.inserted, r2.duplicates) == (200, 100, 100)
    assert count_readings(store.conninfo) == 300


async def test_duplicate_inside_one_batch_is_stored_once(store: Store) -> None:
    add_meter(store.conninfo, "A1")
    rows = series("A1", count=10)
    result = await store.writer.write(rows + rows[:3])
    assert result == WriteResult(inserted=10, duplicates=3)


async def test_same_instant_from_two_sources_are_two_rows(store: Store) -> None:
    add_meter(store.conninfo, "A1")
    auto = series("A1", count=1)
    consumer = series("A1", count=1, source=Source.CONSUMER)
    result = await store.writer.write(auto + consumer)
    assert result.inserted == 2


async def test_two_concurrent_writers_store_each_row_once(store_url: str) -> None:
    add_meter(store_url, "A1")
    add_meter(store_url, "B2")
    rows = series("A1", count=2000) + series("B2", count=2000)
    async with open_store(store_url) as s1, open_store(store_url) as s2:

        async def push(store: Store, batches: list[list[Reading]]) -> WriteResult:
            total = WriteResult()
            for b in batches:
                total = total + await store.writer.write(b)
            return total

        # Both writers send every row, in different batch cuts and orders.
        cuts_a = [rows[i : i + 500] for i in range(0, len(rows), 500)]
        cuts_b = [rows[i : i + 700] for i in range(0, len(rows), 700)][::-1]
        ra, rb = await asyncio.gather(push(s1, cuts_a), push(s2, cuts_b))
    assert ra.inserted + rb.inserted == len(rows)
    assert ra.duplicates + rb.duplicates == len(rows)
    assert count_readings(store_url) == len(rows)


async def test_invalid_rows_go_to_dead_letters_and_the_rest_is_stored(store: Store) -> None:
    add_meter(store.conninfo, "A1", digits=5, registers=(0,))
    now = datetime.now(UTC)
    good = series("A1", count=5)
    bad = [
        Reading(meter="ZZ9", register=0, read_at=T0, value_wh=1),
        Reading(meter="A1", register=2, read_at=T0, value_wh=1),
        Reading(meter="A1", register=0, read_at=T0 + timedelta(days=9), value_wh=100_000_000),
        Reading(meter="A1", register=0, read_at=T0 + timedelta(days=8), value_wh=-5),
        Reading(meter="A1", register=0, read_at=now + timedelta(hours=2), value_wh=10),
    ]
    driver_letter = DeadLetter(kind="mqtt", origin="meters/x", reason="bad json", payload=b"{")
    result = await store.writer.write(good + bad, [driver_letter])
    assert result == WriteResult(inserted=5, rejected=5, dead_letters=1)
    with psycopg.connect(store.conninfo) as conn:
        reasons = [r[0] for r in conn.execute("SELECT reason FROM dead_letters ORDER BY id")]
        payload = conn.execute("SELECT payload FROM dead_letters WHERE kind = 'mqtt'").fetchone()
    assert reasons[0] == "bad json"
    assert payload == (b"{",)
    assert reasons[1:] == [
        "unknown meter 'ZZ9'",
        "meter A1 has no register 2",
        "value 100000000 Wh reaches the rollover of a 5-digit register",
        "negative value -5 Wh",
        f"read_at {bad[4].read_at.isoformat()} is in the future",
    ]


async def test_meter_registered_after_a_rejection_is_accepted_later(store: Store) -> None:
    rows = series("LATE1", count=3)
    assert (await store.writer.write(rows)).rejected == 3
    add_meter(store.conninfo, "LATE1")
    assert (await store.writer.write(rows)).inserted == 3


async def test_unreachable_database_raises_store_unavailable(store_url: str) -> None:
    # A port nothing listens on: every attempt fails to connect.
    bad_url = psycopg.conninfo.make_conninfo(store_url, host="127.0.0.1", port="1")
    from psycopg_pool import AsyncConnectionPool

    from ingest.writer import ReadingWriter

    pool = AsyncConnectionPool(bad_url, min_size=0, max_size=1, timeout=0.5, open=False)
    await pool.open(wait=False)
    writer = ReadingWriter(pool, record_invalidations=True, attempts=2, backoff_base_s=0.01)
    try:
        with pytest.raises(StoreUnavailable, match="after 2 attempts"):
            await writer.write(series("A1", count=1))
    finally:
        await pool.close()
