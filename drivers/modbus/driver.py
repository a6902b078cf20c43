"""``ModbusDriver``: polls every device of one bus on clock boundaries and yields Deliveries.

``async with ModbusDriver(bus, devices) as driver: async for delivery in driver:``.
Iterating starts an APScheduler job on the boundaries; each cycle polls the
devices in turn (healthy ones first), one Delivery per device that answered.
``poll_once(slot)`` runs one cycle directly (tests, benchmarks, manual polls).
A bus that cannot be reached ends the cycle early and is logged once; a device
that fails is handled by its own back-off (``drivers.modbus.health``).
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
from collections.abc import AsyncGenerator, AsyncIterator, Mapping, Sequence
from contextlib import aclosing
from datetime import UTC, datetime
from types import TracebackType
from typing import Any, Self

from apscheduler.jobstores.base import JobLookupError
from apscheduler.schedulers.asyncio import AsyncIOScheduler

from drivers.base import Delivery
from drivers.errors import ConfigurationError, ConnectionLost, DriverError
from drivers.modbus.bus import ModbusBus
from drivers.modbus.config import BusConfig, DeviceConfig
from drivers.modbus.device import DevicePoller
from drivers.modbus.health import DeviceStats
from drivers.modbus.planner import ReadRequest
from drivers.modbus.profile import EnergyRegister, Profile
from drivers.modbus.profiles import PROFILES, get_profile
from drivers.modbus.schedule import boundary_trigger, nearest_slot

log = logging.getLogger("drivers.modbus")


class ModbusDriver:
    """The Modbus driver for one bus (implements ``drivers.base.Driver``).

    ``scheduler``: an already running AsyncIOScheduler to add the poll job to; None
    makes the driver run its own. ``queue_size`` bounds the deliveries waiting for the
    consumer: when full, the cycle waits (and later slots are skipped) rather than drop.
    """

    def __init__(
        self,
        bus: BusConfig,
        devices: Sequence[DeviceConfig],
        *,
        profiles: Mapping[str, Profile] = PROFILES,
        scheduler: AsyncIOScheduler | None = None,
        queue_size: int | None = None,
    ) -> None:
        units = [d.unit_id for d in devices]
        if len(set(units)) != len(units):
            raise ConfigurationError(f"bus {bus.name}: a unit id appears twice")
        self.config = bus
        self._pollers = [
            DevicePoller(bus=bus, device=d, profile=get_profile(d.profile, profiles))
            for d in devices
        ]
        self._bus = ModbusBus(bus)
        self._scheduler = scheduler
        self._own_scheduler = False
        self._job: Any = None
        self._queue: asyncio.Queue[Delivery | BaseException] = asyncio.Queue(
            queue_size or max(2 * len(devices), 1)
        )
        self._cycle_lock = asyncio.Lock()
        self._cycle_task: asyncio.Task[None] | None = None
        self._bus_down = False

    async def __aenter__(self) -> Self:
        await self._bus.__aenter__()
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self._stop_schedule()
        if self._cycle_task is not None:
            self._cycle_task.cancel()
            await asyncio.gather(self._cycle_task, return_exceptions=True)
        await self._bus.__aexit__(exc_type, exc, tb)

    def __aiter__(self) -> AsyncIterator[Delivery]:
        return self._deliveries()

    async def _deliveries(self) -> AsyncIterator[Delivery]:
        self._start_schedule()
        while True:
            item = await self._queue.get()
            if isinstance(item, BaseException):
                raise DriverError(f"bus {self.config.name}: poll cycle crashed") from item
            yield item

    # --- one cycle ---------------------------------------------------------------

    async def poll_once(self, slot: datetime) -> list[Delivery]:
        """Poll every due device once for ``slot`` (aware) and return what arrived."""
        async with aclosing(self._cycle(slot)) as cycle:
            return [delivery async for delivery in cycle]

    async def _cycle(self, slot: datetime) -> AsyncGenerator[Delivery, None]:
        if slot.tzinfo is None or slot.utcoffset() is None:
            raise ValueError(f"slot must be timezone-aware, got {slot!r}")
        slot = slot.astimezone(UTC)
        async with self._cycle_lock:
            started = time.monotonic()
            order = sorted(self._pollers, key=lambda p: (p.health.order, p.device.unit_id))
            for index, poller in enumerate(order):
                if not poller.health.due(slot):
                    continue
                # a failing device may cost a whole timeout: only start it if that still fits
                reserve = self.config.timeout_s if poller.health.order else 0.0
                if time.monotonic() - started + reserve > self.config.budget_s:
                    log.warning(
                        "bus %s: cycle budget %.1f s spent; %d devices left for the next slot",
                        self.config.name,
                        self.config.budget_s,
                        len(order) - index,
                    )
                    return
                try:
                    delivery = await poller.poll(self._bus, slot)
                except ConnectionLost as exc:
                    self._bus_failed(exc)
                    return
                self._bus_ok()
                if delivery is not None:
                    yield delivery

    def _bus_failed(self, exc: ConnectionLost) -> None:
        if not self._bus_down:
            log.error("bus %s down: %s; logged at DEBUG until it is back", self.config.name, exc)
        else:
            log.debug("bus %s still down: %s", self.config.name, exc)
        self._bus_down = True

    def _bus_ok(self) -> None:
        if self._bus_down:
            log.info("bus %s is back", self.config.name)
        self._bus_down = False

    # --- schedule ----------------------------------------------------------------

    def _start_schedule(self) -> None:
        if self._job is not None:
            return
        if self._scheduler is None:
            self._scheduler = AsyncIOScheduler(timezone=UTC)
            self._own_scheduler = True
        self._job = self._scheduler.add_job(
            self._on_boundary,
            boundary_trigger(interval_s=self.config.poll_interval_s, offset_s=self.config.offset_s),
            id=f"modbus:{self.config.name}",
            max_instances=1,
            coalesce=True,
            misfire_grace_time=max(1, int(self.config.poll_interval_s / 2)),
        )
        if self._own_scheduler:
            self._scheduler.start()

    def _stop_schedule(self) -> None:
        if self._job is not None:
            with contextlib.suppress(JobLookupError):  # the owner may have shut its scheduler
                self._job.remove()
            self._job = None
        if self._own_scheduler and self._scheduler is not None:
            self._scheduler.shutdown(wait=False)
            self._scheduler = None
            self._own_scheduler = False

    async def _on_boundary(self) -> None:
        """The scheduler's job: start this slot's cycle unless the last one still runs."""
        slot = nearest_slot(
            datetime.now(UTC),
            interval_s=self.config.poll_interval_s,
            offset_s=self.config.offset_s,
        )
        if self._cycle_task is not None and not self._cycle_task.done():
            log.warning(
                "bus %s: previous cycle still running; slot %s skipped", self.config.name, slot
            )
            return
        self._cycle_task = asyncio.create_task(self._feed(slot), name=f"modbus:{self.config.name}")

    async def _feed(self, slot: datetime) -> None:
        try:
            async with aclosing(self._cycle(slot)) as cycle:
                async for delivery in cycle:
                    await self._queue.put(delivery)
        except Exception as exc:  # a bug, not a device problem: surface it to the consumer
            log.exception("bus %s: poll cycle for %s crashed", self.config.name, slot)
            await self._queue.put(exc)

    # --- introspection -------------------------------------------------------------

    def stats(self) -> tuple[DeviceStats, ...]:
        """A snapshot of every device's counters and state (for metrics; no prometheus here)."""
        return tuple(p.stats() for p in self._pollers)

    @property
    def plans(self) -> Mapping[int, tuple[ReadRequest[EnergyRegister], ...]]:
        """unit id -> the reads one poll of that device makes (the serial read comes once extra)."""
        return {p.device.unit_id: p.plan for p in self._pollers}
