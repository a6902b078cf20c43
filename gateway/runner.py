"""The gateway process: drivers -> pipelines -> store, with spool, scheduler and metrics.

Shutdown order matters for the delivery guarantee: stop reading, let the
pipelines write and acknowledge what they hold while the broker connection is
still open, then disconnect. What was not acknowledged is redelivered by the
broker after a restart, and the store's key drops the repeats.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import random
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path

from apscheduler.schedulers.asyncio import AsyncIOScheduler

from drivers.base import Driver
from drivers.errors import DriverError
from drivers.modbus import ModbusDriver
from drivers.mqtt import MqttDriver
from gateway.config import GatewayConfig
from gateway.http import serve_http
from gateway.metrics import DeviceFigures, Metrics
from gateway.pipeline import Outlet, Pipeline, Replayer, StoreHealth
from gateway.spool import Spool
from ingest import rollups
from ingest.migrate import migrate
from ingest.reconcile.schedule import reconcile_job
from ingest.store import Store, open_store

log = logging.getLogger(__name__)


@dataclass
class GatewayState:
    """What a running gateway exposes to its caller (the demo, tests)."""

    metrics: Metrics
    pipelines: dict[str, Pipeline] = field(default_factory=dict)
    replayer: Replayer | None = None
    spool: Spool | None = None
    health: StoreHealth | None = None
    modbus: list[ModbusDriver] = field(default_factory=list)
    ready: asyncio.Event = field(default_factory=asyncio.Event)
    spool_batches_at_exit: int | None = None

    def summary(self) -> dict[str, int]:
        written = sum(p.totals.inserted for p in self.pipelines.values())
        return {
            "written": written + (self.replayer.replayed if self.replayer else 0),
            "duplicates": sum(p.totals.duplicates for p in self.pipelines.values()),
            "rejected": sum(p.totals.rejected for p in self.pipelines.values()),
            "dead_letters": sum(p.totals.dead_letters for p in self.pipelines.values()),
            "spooled": sum(p.spooled for p in self.pipelines.values()),
            "spool_batches": (
                self.spool_batches_at_exit
                if self.spool_batches_at_exit is not None
                else self.spool.depth().batches
                if self.spool
                else 0
            ),
        }


async def _pump(driver: Driver, pipeline: Pipeline) -> None:
    async for delivery in driver:
        await pipeline.submit(delivery)


async def supervise(
    name: str, make_driver: Callable[[], Driver], pipeline: Pipeline, stop: asyncio.Event
) -> None:
    """Run one driver into its pipeline until ``stop``; reopen it after failures.

    On stop the driver stays open until the pipeline has acknowledged everything
    it received, so acks reach the broker.
    """
    delay = 0.5
    while not stop.is_set():
        try:
            async with make_driver() as driver:
                reader = asyncio.create_task(_pump(driver, pipeline), name=f"read:{name}")
                stopper = asyncio.create_task(stop.wait())
                done, _ = await asyncio.wait({reader, stopper}, return_when=asyncio.FIRST_COMPLETED)
                stopper.cancel()
                if reader in done:
                    reader.result()  # raises the driver's error
                    continue
                reader.cancel()
                with contextlib.suppress(asyncio.CancelledError):
                    await reader
                await pipeline.drain()
                return
        except DriverError as exc:
            log.error("%s: %s; reopening in %.1fs", name, exc, delay)
            await asyncio.sleep(delay * random.uniform(0.5, 1.0))
            delay = min(delay * 2, 30.0)


def _opener(driver: Driver) -> Callable[[], Driver]:
    """A Modbus driver is built once (it keeps its devices' health) and reopened."""
    return lambda: driver


def _device_figures(drivers: list[ModbusDriver]) -> Callable[[], list[DeviceFigures]]:
    def collect() -> list[DeviceFigures]:
        out = []
        for d in drivers:
            for s in d.stats():
                last = s.last_success_at.timestamp() if s.last_success_at else None
                out.append(
                    DeviceFigures(
                        bus=s.bus,
                        unit=s.unit_id,
                        requests=s.requests,
                        errors=s.errors,
                        last_success_unix=last,
                    )
                )
        return out

    return collect


async def run_gateway(
    config: GatewayConfig,
    *,
    database_url: str,
    data_dir: Path,
    stop: asyncio.Event,
    state: GatewayState | None = None,
    extra_jobs: list[tuple[Callable[[Store], Awaitable[None]], float]] = (),  # type: ignore[assignment]
) -> GatewayState:
    """Run until ``stop`` is set; return the final state."""
    logging.getLogger("pymodbus").setLevel(logging.ERROR)
    state = state or GatewayState(metrics=Metrics())
    await asyncio.to_thread(migrate, database_url)
    spool = Spool(config.spool_path or data_dir / "spool.sqlite")
    state.spool = spool
    async with open_store(database_url) as store:
        health = StoreHealth(state.metrics)
        state.health = health
        outlet = Outlet(
            writer=store.writer,
            spool=spool,
            health=health,
            metrics=state.metrics,
            config=config.pipeline,
        )
        scheduler = AsyncIOScheduler(timezone=UTC)
        scheduler.start()
        tasks: list[asyncio.Task[None]] = []
        supervisors: list[asyncio.Task[None]] = []
        server = None
        try:
            replayer = Replayer(outlet=outlet)
            state.replayer = replayer
            tasks.append(asyncio.create_task(replayer.run(), name="replay"))

            async def refresh() -> None:
                await asyncio.to_thread(rollups.refresh, database_url, store.backend)

            scheduler.add_job(
                refresh,
                "interval",
                seconds=config.rollup_refresh_s,
                id="rollups",
                max_instances=1,
                coalesce=True,
                next_run_time=datetime.now(UTC),
            )
            if config.reconcile_interval_s is not None:
                # Incremental: only the points that received data since the last run.
                scheduler.add_job(
                    reconcile_job,
                    "interval",
                    args=[store],
                    seconds=config.reconcile_interval_s,
                    id="reconcile",
                    max_instances=1,
                    coalesce=True,
                    next_run_time=datetime.now(UTC),
                )
            for job, interval in extra_jobs:
                scheduler.add_job(
                    job, "interval", args=[store], seconds=interval, max_instances=1, coalesce=True
                )

            if config.mqtt is not None:
                mqtt = config.mqtt
                pipe = Pipeline(source="mqtt", outlet=outlet)
                state.pipelines["mqtt"] = pipe
                tasks.append(asyncio.create_task(pipe.run(), name="pipeline:mqtt"))
                supervisors.append(
                    asyncio.create_task(supervise("mqtt", lambda: MqttDriver(mqtt), pipe, stop))
                )
            if config.modbus:
                pipe = Pipeline(source="modbus", outlet=outlet)
                state.pipelines["modbus"] = pipe
                tasks.append(asyncio.create_task(pipe.run(), name="pipeline:modbus"))
                for entry in config.modbus:
                    driver = ModbusDriver(entry.bus, entry.devices, scheduler=scheduler)
                    state.modbus.append(driver)
                    supervisors.append(
                        asyncio.create_task(
                            supervise(f"modbus:{entry.bus.name}", _opener(driver), pipe, stop)
                        )
                    )
                state.metrics.device_sources.append(_device_figures(state.modbus))
            if config.http_listen is not None:

                def health_view() -> tuple[bool, dict[str, object]]:
                    return True, {"status": "ok", "store_up": health.up, **state.summary()}

                server = await serve_http(*config.http_listen, state.metrics.registry, health_view)
            state.ready.set()
            log.info(
                "gateway running: mqtt=%s modbus buses=%d",
                config.mqtt is not None,
                len(config.modbus),
            )
            await stop.wait()
            await asyncio.gather(*supervisors, return_exceptions=True)
        finally:
            for task in supervisors:
                task.cancel()
            for pipe in state.pipelines.values():
                await pipe.close()
            pipeline_tasks = [t for t in tasks if t.get_name().startswith("pipeline:")]
            await asyncio.gather(*pipeline_tasks, return_exceptions=True)
            for task in tasks:
                task.cancel()
            await asyncio.gather(*tasks, return_exceptions=True)
            scheduler.shutdown(wait=False)
            if server is not None:
                server.close()
            state.spool_batches_at_exit = spool.depth().batches
            spool.close()
    return state
