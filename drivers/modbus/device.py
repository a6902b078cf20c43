"""Polls one meter on a bus: serial once, then its planned reads, decoded into readings.

Failure policy per cycle: a timeout ends the device's cycle at once (so a dead
meter costs one timeout); quick failures (garbled frame, busy) are retried up to
``retries`` times. The device is logged at ERROR when it goes bad, at DEBUG while
it stays bad, and at INFO when it recovers.
"""

from __future__ import annotations

import logging
from datetime import UTC, datetime, timedelta

from drivers.base import Delivery
from drivers.domain import DeadLetter, Reading
from drivers.errors import ConfigurationError, DeviceError
from drivers.modbus.bus import ModbusBus
from drivers.modbus.config import BusConfig, DeviceConfig
from drivers.modbus.datatypes import decode_words, words_to_bytes
from drivers.modbus.decode import decode_energy
from drivers.modbus.errors import DeviceException, DeviceTimeout
from drivers.modbus.health import DeviceHealth, DeviceStats
from drivers.modbus.planner import ReadRequest, plan_reads
from drivers.modbus.profile import EnergyRegister, FunctionCode, Profile

log = logging.getLogger("drivers.modbus")


def _iso(at: datetime) -> str:
    return at.astimezone(UTC).isoformat(timespec="milliseconds").replace("+00:00", "Z")


class DevicePoller:
    """One device's plan, cached serial and health; ``poll`` runs one cycle for it."""

    def __init__(self, *, bus: BusConfig, device: DeviceConfig, profile: Profile) -> None:
        if device.serial is None and profile.serial is None:
            raise ConfigurationError(
                f"unit {device.unit_id}: {profile.name} has no serial register"
            )
        self.bus = bus
        self.device = device
        self.profile = profile
        max_gap = bus.max_gap if profile.max_gap is None else min(bus.max_gap, profile.max_gap)
        self.plan: tuple[ReadRequest[EnergyRegister], ...] = plan_reads(
            profile.registers, max_gap=max_gap
        )
        self.serial = device.serial
        self.health = DeviceHealth(
            threshold=bus.breaker_threshold,
            interval=timedelta(seconds=bus.poll_interval_s),
            backoff_max=timedelta(seconds=bus.backoff_max_s),
        )

    @property
    def name(self) -> str:
        return f"modbus://{self.bus.name}/{self.device.unit_id}"

    def stats(self) -> DeviceStats:
        return self.health.snapshot(
            bus=self.bus.name,
            unit_id=self.device.unit_id,
            profile=self.profile.name,
            serial=self.serial,
        )

    async def poll(self, bus: ModbusBus, slot: datetime) -> Delivery | None:
        """One cycle: a Delivery when anything was decoded, else None. ConnectionLost propagates."""
        readings: list[Reading] = []
        dead: list[DeadLetter] = []
        try:
            serial = self.serial or await self._read_serial(bus)
            for request in self.plan:
                words, at = await self._read(bus, request.function, request.address, request.count)
                self._decode(request, words, serial, slot, at, readings, dead)
        except DeviceError as exc:
            self._failed(slot, exc)
        else:
            if self.health.succeeded(datetime.now(UTC)):
                log.info("%s (%s) recovered", self.name, self.profile.name)
        if not readings and not dead:
            return None
        return Delivery(readings=tuple(readings), dead_letters=tuple(dead))

    def _failed(self, slot: datetime, exc: DeviceError) -> None:
        if self.device.serial is None:
            self.serial = None  # re-read after an outage: the meter may have been swapped
        if self.health.failed(slot, str(exc)):
            log.error(
                "%s (%s) failed: %s; logged at DEBUG until it recovers",
                self.name,
                self.profile.name,
                exc,
            )
        else:
            log.debug(
                "%s still failing (%d cycles): %s", self.name, self.health.consecutive_failures, exc
            )

    async def _read(
        self, bus: ModbusBus, function: FunctionCode, address: int, count: int
    ) -> tuple[list[int], datetime]:
        """One read with quick retries; a timeout is never retried (one per cycle at most)."""
        attempt = 0
        while True:
            self.health.requests += 1
            try:
                words = await bus.read(
                    unit=self.device.unit_id, function=function, address=address, count=count
                )
            except DeviceError as exc:
                self.health.errors += 1
                if isinstance(exc, DeviceTimeout):
                    self.health.timeouts += 1
                    raise
                retryable = not isinstance(exc, DeviceException) or exc.transient
                if not retryable or attempt >= self.bus.retries:
                    raise
                attempt += 1
                log.debug("%s retry %d after: %s", self.name, attempt, exc)
                continue
            return words, datetime.now(UTC)

    async def _read_serial(self, bus: ModbusBus) -> str:
        spec = self.profile.serial
        assert spec is not None  # checked in __init__
        words, _ = await self._read(bus, spec.function, spec.address, spec.width)
        value = decode_words(
            words, data_type=spec.data_type, byte_order=spec.byte_order, word_order=spec.word_order
        )
        if not value or value == 2 ** (16 * spec.width) - 1:
            raise DeviceError(f"{self.name}: meter reports no serial number ({value})")
        self.serial = str(value)
        log.debug("%s serial %s", self.name, self.serial)
        return self.serial

    def _decode(
        self,
        request: ReadRequest[EnergyRegister],
        words: list[int],
        serial: str,
        slot: datetime,
        at: datetime,
        readings: list[Reading],
        dead: list[DeadLetter],
    ) -> None:
        origin = f"{self.name}?at={_iso(at)}"
        for spec in request.covers:
            chunk = request.words_for(spec, words)
            decoded = decode_energy(spec, chunk)
            if decoded.value_wh is None:
                dead.append(
                    DeadLetter(
                        kind="modbus",
                        origin=origin,
                        reason=f"serial {serial} {spec.label}: {decoded.problem}",
                        payload=words_to_bytes(chunk),
                        received_at=at,
                    )
                )
                continue
            if decoded.problem:
                log.debug("%s %s: %s", self.name, spec.label, decoded.problem)
            readings.append(
                Reading(
                    meter=serial,
                    register=spec.register,
                    read_at=slot,
                    value_wh=decoded.value_wh,
                    quality=decoded.quality,
                    origin=origin,
                )
            )
