"""Read-side queries: consumption from register differences, latest, history."""

from datetime import UTC, datetime, timedelta

from drivers.domain import KYIV, Reading, Source
from ingest import rollups
from ingest.queries import advance_wh, consumption, history, latest
from ingest.store import Store
from tests.factories import add_meter, series


def _local(y: int, m: int, d: int, h: int = 0) -> datetime:
    return datetime(y, m, d, h, tzinfo=KYIV)


async def _fill(store: Store, meter: str, start: datetime, hours: int, wh_per_slot: int) -> int:
    meter_id = add_meter(store.conninfo, meter)
    rows = series(
        meter,
        start=start.astimezone(UTC),
        count=hours * 4 + 1,
        first_wh=5_000_000,
        per_step_wh=wh_per_slot,
    )
    await store.writer.write(rows)
    return meter_id


async def test_daily_consumption_is_exact_including_the_25_hour_day(store: Store) -> None:
    start = _local(2026, 10, 24)
    meter_id = await _fill(store, "Q1", start, hours=24 + 25 + 24, wh_per_slot=100)
    rollups.refresh(store.conninfo, store.backend)
    async with store.pool.connection() as conn:
        rows = await consumption(
            conn,
            meter_id=meter_id,
            register=0,
            start=start,
            end=_local(2026, 10, 27),
            group_by="day",
        )
    assert [(r.interval_start.astimezone(KYIV).day, r.wh) for r in rows] == [
        (24, 9600),
        (25, 10000),
        (26, 9600),
    ]
    assert rows[1].interval_end - rows[1].interval_start == timedelta(hours=25)


async def test_hourly_and_monthly_consumption(store: Store) -> None:
    start = _local(2026, 1, 31, 22)
    meter_id = await _fill(store, "Q2", start, hours=4, wh_per_slot=250)
    async with store.pool.connection() as conn:
        hours = await consumption(
            conn,
            meter_id=meter_id,
            register=0,
            start=start,
            end=start + timedelta(hours=4),
            group_by="hour",
        )
        months = await consumption(
            conn,
            meter_id=meter_id,
            register=0,
            start=_local(2026, 1, 1),
            end=_local(2026, 3, 1),
            group_by="month",
        )
    assert [r.wh for r in hours] == [1000, 1000, 1000, 1000]
    # January gets the energy up to the first February read (exactly 00:00 local).
    assert [(r.interval_start.astimezone(KYIV).month, r.wh) for r in months] == [
        (1, 2000),
        (2, 2000),
    ]


async def test_rollover_is_bridged_only_when_plausible() -> None:
    assert advance_wh(99_999_000, 500, 100_000_000) == 1_500
    assert advance_wh(50_000_000, 10_000, 100_000_000) is None
    assert advance_wh(10, 20, 100_000_000) == 10


async def test_latest_and_history_show_every_source(store: Store) -> None:
    meter_id = add_meter(store.conninfo, "Q3", registers=(1, 2))
    t = datetime(2026, 5, 1, tzinfo=UTC)
    day = timedelta(days=1)
    await store.writer.write(
        [
            Reading(meter="Q3", register=1, read_at=t, value_wh=1000),
            Reading(meter="Q3", register=2, read_at=t, value_wh=2000),
            Reading(
                meter="Q3",
                register=1,
                read_at=t + 14 * day,
                value_wh=1500,
                source=Source.CONTROLLER,
            ),
            Reading(
                meter="Q3", register=1, read_at=t + 30 * day, value_wh=1900, source=Source.CONSUMER
            ),
        ]
    )
    async with store.pool.connection() as conn:
        last = await latest(conn, meter_id)
        past = await history(conn, meter_id=meter_id, start=t, end=t + timedelta(days=31))
        only_controller = await history(
            conn,
            meter_id=meter_id,
            start=t,
            end=t + timedelta(days=31),
            sources=(Source.CONTROLLER,),
        )
    assert [(r.register, r.value_wh, r.source) for r in last] == [
        (1, 1900, Source.CONSUMER),
        (2, 2000, Source.AUTO),
    ]
    assert [r.source for r in past] == [
        Source.AUTO,
        Source.AUTO,
        Source.CONTROLLER,
        Source.CONSUMER,
    ]
    assert [r.value_wh for r in only_controller] == [1500]
