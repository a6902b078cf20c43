"""The pipeline: exactly once through database outages, spool and replay, backpressure."""

import asyncio
from datetime import UTC, datetime, timedelta
from pathlib import Path

import psycopg

from drivers.base import Delivery
from drivers.domain import DeadLetter, Reading
from gateway.metrics import Metrics
from gateway.pipeline import Outlet, Pipeline, PipelineConfig, Replayer, StoreHealth
from gateway.spool import Spool
from ingest.store import open_store
from tests.factories import add_meter, count_readings
from tests.fixtures.proxy import Proxy

T0 = datetime(2026, 2, 1, tzinfo=UTC)
CONFIG = PipelineConfig(batch_size=400, batch_age_s=0.05, queue_size=200, retry_interval_s=0.1)


class Acks:
    """Counts acknowledgements per delivery: each must be acked exactly once."""

    def __init__(self) -> None:
        self.counts: dict[int, int] = {}

    def delivery(
        self, n: int, readings: tuple[Reading, ...], letters: tuple[DeadLetter, ...] = ()
    ) -> Delivery:
        self.counts[n] = 0

        def ack() -> None:
            self.counts[n] += 1

        return Delivery(readings=readings, dead_letters=letters, ack=ack)


def _readings(meter: str, i: int) -> tuple[Reading, ...]:
    at = T0 + timedelta(minutes=15 * i)
    return tuple(
        Reading(meter=meter, register=r, read_at=at, value_wh=1000 * i + r) for r in (0, 1, 2)
    )


async def _drain(spool: Spool, seconds: float = 30) -> None:
    for _ in range(int(seconds * 20)):
        if spool.depth().batches == 0:
            return
        await asyncio.sleep(0.05)
    raise AssertionError(f"spool not drained: {spool.depth()}")


async def _counted(replayer: Replayer, spooled: int, seconds: float = 5) -> None:
    """Wait for the replayer to count the last batch: it counts a batch once
    the spool's removal returns from its thread, a moment after the spool
    reads empty (under load the test saw the empty spool first and stopped
    the replayer in between)."""
    for _ in range(int(seconds * 100)):
        if replayer.replayed >= spooled:
            return
        await asyncio.sleep(0.01)


async def test_database_cut_mid_stream_loses_and_doubles_nothing(
    pg_proxy: tuple[Proxy, str], store_url: str, tmp_path: Path
) -> None:
    proxy, url = pg_proxy
    add_meter(store_url, "P1")
    metrics = Metrics()
    spool = Spool(tmp_path / "spool.sqlite")
    acks = Acks()
    async with open_store(url, max_size=2, connect_timeout_s=1) as store:
        store.writer._attempts = 2
        health = StoreHealth(metrics)
        outlet = Outlet(
            writer=store.writer, spool=spool, health=health, metrics=metrics, config=CONFIG
        )
        pipe = Pipeline(source="test", outlet=outlet)
        replayer = Replayer(outlet=outlet)
        running = asyncio.create_task(pipe.run())
        replaying = asyncio.create_task(replayer.run())
        total = 3000
        for i in range(total):
            if i == 1000:
                await proxy.cut()
            if i == 2000:
                await proxy.restore()
            await pipe.submit(acks.delivery(i, _readings("P1", i)))
            if i % 50 == 0:
                await asyncio.sleep(0.01)
        await pipe.close()
        await running
        await _drain(spool)
        await _counted(replayer, pipe.spooled)
        replaying.cancel()
    assert pipe.spooled > 0, "the cut must have sent batches to the spool"
    assert replayer.replayed == pipe.spooled
    assert set(acks.counts.values()) == {1}
    assert count_readings(store_url) == total * 3
    with psycopg.connect(store_url) as conn:
        per_key = conn.execute(
            "SELECT count(*) FROM (SELECT 1 FROM readings"
            " GROUP BY meter_id, register, read_at HAVING count(*) > 1) x"
        ).fetchone()
    assert per_key == (0,)


async def test_spool_survives_a_restart_and_replays_in_order(
    store_url: str, tmp_path: Path
) -> None:
    add_meter(store_url, "P2")
    path = tmp_path / "spool.sqlite"
    first = Spool(path)
    letter = DeadLetter(kind="mqtt", origin="t", reason="bad", payload=b"\x00\xff")
    ids = [first.put(_readings("P2", i), (letter,) if i == 0 else ()) for i in range(5)]
    first.close()
    again = Spool(path)
    assert again.depth().batches == 5
    oldest = again.oldest()
    assert oldest is not None
    assert oldest.id == ids[0]
    assert oldest.readings == _readings("P2", 0)
    assert oldest.dead_letters[0].payload == b"\x00\xff"
    metrics = Metrics()
    async with open_store(store_url) as store:
        replayer = Replayer(
            outlet=Outlet(
                writer=store.writer,
                spool=again,
                health=StoreHealth(metrics),
                metrics=metrics,
                config=CONFIG,
            )
        )
        task = asyncio.create_task(replayer.run())
        await _drain(again)
        task.cancel()
    assert count_readings(store_url) == 15
    with psycopg.connect(store_url) as conn:
        assert conn.execute("SELECT payload FROM dead_letters").fetchall() == [(b"\x00\xff",)]


async def test_full_queue_makes_the_producer_wait(store_url: str, tmp_path: Path) -> None:
    add_meter(store_url, "P3")
    metrics = Metrics()
    spool = Spool(tmp_path / "spool.sqlite")
    small = PipelineConfig(batch_size=10, batch_age_s=0.05, queue_size=5)
    async with open_store(store_url) as store:
        pipe = Pipeline(
            source="test",
            outlet=Outlet(
                writer=store.writer,
                spool=spool,
                health=StoreHealth(metrics),
                metrics=metrics,
                config=small,
            ),
        )
        acks = Acks()
        for i in range(5):
            await pipe.submit(acks.delivery(i, _readings("P3", i)))
        # The queue is full and nothing drains it: the next submit must wait.
        blocked = asyncio.create_task(pipe.submit(acks.delivery(5, _readings("P3", 5))))
        await asyncio.sleep(0.2)
        assert not blocked.done()
        running = asyncio.create_task(pipe.run())
        await asyncio.wait_for(blocked, 5)
        await pipe.close()
        await running
    assert set(acks.counts.values()) == {1}
    assert count_readings(store_url) == 18
