"""A fleet of simulated meters publishing readings over MQTT with QoS 1.

``await Fleet(config, publisher).run()`` returns a ``FleetReport``: every
reading of every well-formed message (what the gateway must store), and how
many messages were malformed, duplicated or sent out of order (what must end
in dead letters or be absorbed by the idempotent store).
"""

from __future__ import annotations

import asyncio
import random
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import NamedTuple, Protocol

from drivers.domain import Plan
from drivers.mqtt import PayloadFormat, TopicRoute
from simulators.mqtt.load import SimMeter
from simulators.mqtt.payloads import ENCODERS, malformed

_PLANS = (Plan.SINGLE, Plan.TWO_ZONE, Plan.THREE_ZONE)


class PublishedReading(NamedTuple):
    """One register value the fleet published in a well-formed message."""

    serial: str
    register: int
    read_at: datetime
    value_wh: int


class Sink(Protocol):
    async def publish(self, topic: str, payload: bytes) -> None: ...


@dataclass(frozen=True, slots=True, kw_only=True)
class FleetConfig:
    """What to simulate. Probabilities are per message, in [0, 1]."""

    meters: int = 10
    interval: float = 900.0
    """Simulated seconds between one meter's readings."""
    payload_format: PayloadFormat = PayloadFormat.METERGATE
    rate: float = 0.0
    """Most messages per real second; 0 = as fast as the broker takes them."""
    accelerate: float = 1.0
    """Simulated seconds per real second; 0 = do not wait for the clock at all."""
    cycles: int | None = None
    """Readings per meter; None = until cancelled."""
    malformed: float = 0.0
    duplicates: float = 0.0
    out_of_order: float = 0.0
    seed: int = 0
    plan: Plan | None = None
    """All meters on this plan; None = a seeded mix of the three."""
    prefix: str = "metergate-sim"
    """First topic level(s); keep it unique per test so tests do not see each other."""
    start: datetime | None = None
    """Simulated time of the first reading; None = now, floored to the interval."""

    def __post_init__(self) -> None:
        object.__setattr__(self, "payload_format", PayloadFormat(self.payload_format))
        if self.meters < 1 or self.interval <= 0 or self.rate < 0 or self.accelerate < 0:
            raise ValueError("meters >= 1, interval > 0, rate >= 0, accelerate >= 0")
        if not all(0 <= p <= 1 for p in (self.malformed, self.duplicates, self.out_of_order)):
            raise ValueError("malformed, duplicates and out_of_order are probabilities")
        if self.start is not None and self.start.tzinfo is None:
            raise ValueError("start must be timezone-aware")
        if self.cycles is not None and self.cycles < 1:
            raise ValueError("cycles must be >= 1 (or None)")

    def serial(self, index: int) -> str:
        return f"SIM{self.seed:04d}{index:06d}"

    def topic(self, serial: str) -> str:
        if self.payload_format is PayloadFormat.TASMOTA:
            return f"{self.prefix}/tele/{serial}/SENSOR" if self.prefix else f"tele/{serial}/SENSOR"
        suffix = "reading" if self.payload_format is PayloadFormat.METERGATE else "obis"
        return f"{self.prefix}/{serial}/{suffix}"

    def routes(self) -> tuple[TopicRoute, ...]:
        """The driver routes that read this fleet's topics."""
        depth = len(self.prefix.split("/")) if self.prefix else 0
        fmt = self.payload_format
        if fmt is PayloadFormat.METERGATE:
            return (TopicRoute(topic_filter=f"{self.prefix}/+/reading", payload_format=fmt),)
        if fmt is PayloadFormat.OBIS:
            return (
                TopicRoute(
                    topic_filter=f"{self.prefix}/+/obis",
                    payload_format=fmt,
                    serial_topic_level=depth,
                ),
            )
        tele = f"{self.prefix}/tele" if self.prefix else "tele"
        return (
            TopicRoute(
                topic_filter=f"{tele}/+/SENSOR",
                payload_format=fmt,
                serial_topic_level=depth + 1,
                timezone="Europe/Kyiv",
            ),
        )


@dataclass(slots=True)
class FleetReport:
    """What the fleet published so far."""

    readings: list[PublishedReading] = field(default_factory=list)
    messages: int = 0
    """PUBLISH packets sent, malformed and duplicate ones included."""
    good_messages: int = 0
    malformed: int = 0
    dead_letters: int = 0
    """Malformed PUBLISHes, duplicates included: what must end in dead letters."""
    duplicates: int = 0
    out_of_order: int = 0

    def expected(self) -> set[PublishedReading]:
        return set(self.readings)


class Fleet:
    """Publishes ``config.meters`` meters' readings slot by slot through ``sink``."""

    def __init__(self, config: FleetConfig, sink: Sink) -> None:
        self.config = config
        self.report = FleetReport()
        self._sink = sink
        self._rng = random.Random(config.seed)
        plan_rng = random.Random(f"plans:{config.seed}")
        self._meters = [
            SimMeter.create(config.serial(i), config.plan or plan_rng.choice(_PLANS), config.seed)
            for i in range(config.meters)
        ]
        self._held: dict[str, tuple[str, bytes]] = {}
        self._next_send = 0.0

    @property
    def meters(self) -> tuple[SimMeter, ...]:
        """The simulated meters (serial, plan, registers), e.g. to register them in a store."""
        return tuple(self._meters)

    async def run(self) -> FleetReport:
        cfg = self.config
        loop = asyncio.get_running_loop()
        step = timedelta(seconds=cfg.interval)
        start = cfg.start or _floor(datetime.now(UTC), cfg.interval)
        real_start = self._next_send = loop.time()
        slot = 0
        while cfg.cycles is None or slot < cfg.cycles:
            if cfg.accelerate:
                await _sleep_until(loop, real_start + slot * cfg.interval / cfg.accelerate)
            read_at = start + slot * step
            for meter in self._meters:
                if slot:
                    meter.advance(read_at - step, read_at)
                await self._send_reading(meter, read_at, slot)
            slot += 1
        for topic, payload in self._held.values():
            await self._publish(topic, payload)
        self._held.clear()
        return self.report

    async def _send_reading(self, meter: SimMeter, read_at: datetime, seq: int) -> None:
        cfg, rng, report = self.config, self._rng, self.report
        topic = cfg.topic(meter.serial)
        payload = ENCODERS[cfg.payload_format](meter.serial, read_at, meter.registers, seq, rng)
        bad = rng.random() < cfg.malformed
        if bad:
            payload = malformed(cfg.payload_format, payload, rng)
            report.malformed += 1
            report.dead_letters += 1
        else:
            report.good_messages += 1
            report.readings.extend(
                PublishedReading(meter.serial, register, read_at, value)
                for register, value in sorted(meter.registers.items())
            )
        held = self._held.pop(meter.serial, None)
        if held is None and rng.random() < cfg.out_of_order:
            self._held[meter.serial] = (topic, payload)  # sent after this meter's next one
            report.out_of_order += 1
        else:
            await self._publish(topic, payload)
        if held is not None:
            await self._publish(*held)
        if rng.random() < cfg.duplicates:
            await self._publish(topic, payload)
            report.duplicates += 1
            report.dead_letters += bad

    async def _publish(self, topic: str, payload: bytes) -> None:
        rate = self.config.rate
        if rate:
            loop = asyncio.get_running_loop()
            self._next_send = max(self._next_send + 1.0 / rate, loop.time() - 1.0)
            await _sleep_until(loop, self._next_send)
        elif self.report.messages % 256 == 255:
            await asyncio.sleep(0)  # let the loop breathe between bursts
        await self._sink.publish(topic, payload)
        self.report.messages += 1


async def _sleep_until(loop: asyncio.AbstractEventLoop, when: float) -> None:
    delay = when - loop.time()
    if delay > 0.001:
        await asyncio.sleep(delay)


def _floor(instant: datetime, seconds: float) -> datetime:
    epoch = instant.timestamp()
    return datetime.fromtimestamp(epoch - epoch % seconds, UTC)
