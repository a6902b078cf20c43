"""From drivers to the store: bounded queue -> batcher -> writer, ack after commit.

``Pipeline.submit`` waits while the queue is full, so a slow store stops the
drivers from reading (MQTT then stops acking, and the broker keeps the
messages) instead of dropping anything. The batcher cuts a batch by size or by
age; while one batch is being written the next one fills. A batch's deliveries
are acknowledged only after the store committed it, or after it was written to
the disk spool when the store is unavailable. While the store is down, batches
go straight to the spool; the ``Replayer`` writes spooled batches back, oldest
first, at a paced rate, and its first success marks the store up again.
"""

from __future__ import annotations

import asyncio
import logging
import time
from dataclasses import dataclass

from drivers.base import Delivery
from gateway.metrics import Metrics
from gateway.spool import Spool
from ingest.errors import StoreUnavailable
from ingest.writer import ReadingWriter, WriteResult

log = logging.getLogger(__name__)


@dataclass(frozen=True, slots=True, kw_only=True)
class PipelineConfig:
    batch_size: int = 5_000
    """Readings per batch at most."""
    batch_age_s: float = 0.2
    """A batch is written at the latest this long after its first delivery."""
    queue_size: int = 20_000
    """Deliveries waiting for the batcher; when full, drivers wait."""
    replay_batches_per_s: float = 20.0
    """Pace of spool replay, so a database that just came back is not flooded."""
    retry_interval_s: float = 1.0
    """While the store is down, how often the replayer tries the oldest spooled batch."""

    def __post_init__(self) -> None:
        if self.batch_size < 1 or self.queue_size < 1:
            raise ValueError("batch_size and queue_size must be positive")
        if self.batch_age_s <= 0 or self.replay_batches_per_s <= 0 or self.retry_interval_s <= 0:
            raise ValueError(
                "batch_age_s, replay_batches_per_s and retry_interval_s must be positive"
            )


class StoreHealth:
    """Shared between pipelines and the replayer: is the database taking writes?"""

    def __init__(self, metrics: Metrics) -> None:
        self._metrics = metrics
        self.up = True
        metrics.store_up.set(1)

    def mark(self, up: bool) -> None:
        if up != self.up:
            log.log(
                logging.INFO if up else logging.ERROR,
                "store is %s",
                "back" if up else "unavailable",
            )
        self.up = up
        self._metrics.store_up.set(1 if up else 0)


@dataclass(frozen=True, slots=True, kw_only=True)
class Outlet:
    """Where batches go, shared by every pipeline and the replayer: the writer,
    the spool, the store's health, the metrics and the settings."""

    writer: ReadingWriter
    spool: Spool
    health: StoreHealth
    metrics: Metrics
    config: PipelineConfig = PipelineConfig()

    def count(self, source: str, result: WriteResult) -> None:
        """Count one committed batch in the metrics of ``source``."""
        m = self.metrics
        m.written.labels(source).inc(result.inserted)
        m.duplicates.labels(source).inc(result.duplicates)
        m.rejected.labels(source).inc(result.rejected)
        m.dead_letters.labels(source).inc(result.dead_letters + result.rejected)


_STOP = object()


class Pipeline:
    """One input path (``source``: mqtt, modbus, …) into the store."""

    def __init__(self, *, source: str, outlet: Outlet) -> None:
        self.source = source
        self._out = outlet
        self._queue: asyncio.Queue[object] = asyncio.Queue(outlet.config.queue_size)
        self.totals = WriteResult()
        self.spooled = 0

    async def submit(self, delivery: Delivery) -> None:
        """Hand over one delivery; waits while the queue is full (backpressure)."""
        self._out.metrics.received.labels(self.source).inc(len(delivery.readings))
        await self._queue.put(delivery)

    async def close(self) -> None:
        """Ask ``run`` to write what it holds and return."""
        await self._queue.put(_STOP)

    async def drain(self) -> None:
        """Wait until every delivery submitted so far is written (or spooled) and acked."""
        await self._queue.join()

    async def run(self) -> None:
        """Batch and write until ``close``; the last batch is written before returning."""
        loop = asyncio.get_running_loop()
        writing: asyncio.Task[None] | None = None
        stopping = False
        while not stopping:
            first = await self._queue.get()
            if first is _STOP:
                self._queue.task_done()
                break
            assert isinstance(first, Delivery)
            batch = [first]
            count = len(first.readings)
            started = time.perf_counter()
            deadline = loop.time() + self._out.config.batch_age_s
            while count < self._out.config.batch_size:
                try:
                    item = self._queue.get_nowait()
                except asyncio.QueueEmpty:
                    remaining = deadline - loop.time()
                    if remaining <= 0:
                        break
                    try:
                        async with asyncio.timeout(remaining):
                            item = await self._queue.get()
                    except TimeoutError:
                        break
                if item is _STOP:
                    self._queue.task_done()
                    stopping = True
                    break
                assert isinstance(item, Delivery)
                batch.append(item)
                count += len(item.readings)
            if writing is not None:
                await writing
            writing = asyncio.create_task(self._flush(batch, started))
        if writing is not None:
            await writing

    async def _flush(self, batch: list[Delivery], started: float) -> None:
        readings = [r for d in batch for r in d.readings]
        letters = [x for d in batch for x in d.dead_letters]
        if self._out.health.up:
            try:
                result = await self._out.writer.write(readings, letters)
            except StoreUnavailable as exc:
                log.error("store unavailable, spooling: %s", exc)
                self._out.health.mark(False)
            else:
                self._count(result)
                self._ack(batch, started)
                return
        await asyncio.to_thread(self._out.spool.put, readings, letters)
        self.spooled += len(readings)
        self._out.metrics.spooled.inc(len(readings))
        self._ack(batch, started)

    def _count(self, result: WriteResult) -> None:
        self.totals = self.totals + result
        self._out.count(self.source, result)

    def _ack(self, batch: list[Delivery], started: float) -> None:
        for delivery in batch:
            delivery.ack()
            self._queue.task_done()
        self._out.metrics.batch_seconds.observe(time.perf_counter() - started)


class Replayer:
    """Writes spooled batches back to the store, oldest first, paced."""

    def __init__(self, *, outlet: Outlet) -> None:
        self._out = outlet
        self.replayed = 0

    async def run(self) -> None:
        """Runs until cancelled."""
        pace = 1 / self._out.config.replay_batches_per_s
        while True:
            depth = await asyncio.to_thread(self._out.spool.depth)
            self._out.metrics.spool_batches.set(depth.batches)
            self._out.metrics.spool_readings.set(depth.readings)
            if depth.batches == 0:
                await asyncio.sleep(self._out.config.retry_interval_s)
                continue
            batch = await asyncio.to_thread(self._out.spool.oldest)
            assert batch is not None
            try:
                result = await self._out.writer.write(
                    batch.readings, batch.dead_letters, attempts=1
                )
            except StoreUnavailable:
                self._out.health.mark(False)
                await asyncio.sleep(self._out.config.retry_interval_s)
                continue
            await asyncio.to_thread(self._out.spool.remove, batch.id)
            self.replayed += len(batch.readings)
            self._out.count("spool", result)
            self._out.health.mark(True)
            await asyncio.sleep(pace)
