"""The MQTT fleet simulator, the embedded broker and the ``simulate mqtt`` command."""

from __future__ import annotations

import asyncio
import itertools
from collections import defaultdict
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from pathlib import Path

import paho.mqtt.client as paho
import pytest
from paho.mqtt.enums import CallbackAPIVersion
from typer.testing import CliRunner

from drivers.domain import Plan, TariffCalendar
from drivers.mqtt import PayloadFormat, Router
from gateway.cli import app
from simulators.broker import EmbeddedBroker
from simulators.mqtt import Fleet, FleetConfig, PublishedReading
from simulators.mqtt.publisher import stop_network_thread
from tests.fixtures.mqtt import BrokerEndpoint
from tests.fixtures.procfs import socket_inodes

START = datetime(2025, 3, 3, tzinfo=UTC)


class Capture:
    """A sink that keeps what the fleet publishes."""

    def __init__(self) -> None:
        self.messages: list[tuple[str, bytes]] = []

    async def publish(self, topic: str, payload: bytes) -> None:
        self.messages.append((topic, payload))


async def run(**kwargs: object) -> tuple[FleetConfig, Capture, list[PublishedReading]]:
    cfg = FleetConfig(**({"start": START, "accelerate": 0, "cycles": 8} | kwargs))  # type: ignore[arg-type]
    sink = Capture()
    report = await Fleet(cfg, sink).run()
    return cfg, sink, report.readings


@pytest.mark.parametrize(
    ("plan", "registers"),
    [(Plan.SINGLE, {0}), (Plan.TWO_ZONE, {0, 1, 2}), (Plan.THREE_ZONE, {0, 1, 2, 3})],
)
async def test_plans_registers_totals_and_monotonic(plan: Plan, registers: set[int]) -> None:
    _, _, readings = await run(meters=3, plan=plan, interval=3600, cycles=30)
    by_meter_time: dict[tuple[str, datetime], dict[int, int]] = defaultdict(dict)
    for r in readings:
        by_meter_time[(r.serial, r.read_at)][r.register] = r.value_wh
    for values in by_meter_time.values():
        assert set(values) == registers
        if len(registers) > 1:
            assert values[0] == sum(v for k, v in values.items() if k)
    for serial in {r.serial for r in readings}:
        series = sorted((t, v) for (s, t), v in by_meter_time.items() if s == serial)
        for (_, earlier), (_, later) in itertools.pairwise(series):
            assert all(later[k] >= earlier[k] for k in registers)
        assert series[-1][1][0] > series[0][1][0]


async def test_zone_energy_lands_in_the_zone_of_its_hours() -> None:
    _, _, readings = await run(meters=1, plan=Plan.TWO_ZONE, interval=3600, cycles=25)
    values = {(r.read_at, r.register): r.value_wh for r in readings}
    calendar = TariffCalendar()
    for hour in range(24):
        start = START + timedelta(hours=hour)
        zone = calendar.zone_at(Plan.TWO_ZONE, start).register
        other = 3 - zone
        end = start + timedelta(hours=1)
        assert values[(end, other)] == values[(start, other)]
        assert values[(end, zone)] > values[(start, zone)]


@pytest.mark.parametrize("fmt", list(PayloadFormat))
async def test_payloads_decode_to_exactly_what_was_published(fmt: PayloadFormat) -> None:
    cfg, sink, readings = await run(meters=4, payload_format=fmt, seed=5)
    router = Router(cfg.routes())
    decoded = {
        PublishedReading(r.meter, r.register, r.read_at.astimezone(UTC), r.value_wh)
        for topic, payload in sink.messages
        for r in router.decode(topic, payload)
    }
    assert decoded == set(readings)
    assert len(readings) == len(set(readings))


async def test_same_seed_same_messages_and_fault_counts() -> None:
    faults = {"malformed": 0.2, "duplicates": 0.2, "out_of_order": 0.2, "meters": 10}
    first = await Fleet(
        FleetConfig(start=START, accelerate=0, cycles=5, seed=3, **faults), Capture()
    ).run()  # type: ignore[arg-type]
    sink = Capture()
    again = await Fleet(
        FleetConfig(start=START, accelerate=0, cycles=5, seed=3, **faults), sink
    ).run()  # type: ignore[arg-type]
    assert first == again
    assert again.messages == 50 + again.duplicates == len(sink.messages)
    assert again.good_messages + again.malformed == 50
    assert again.malformed
    assert again.duplicates
    assert again.out_of_order
    assert len(again.readings) == len(again.expected())  # a duplicate adds no reading


async def test_accelerated_clock_and_rate_pace_publishing() -> None:
    loop = asyncio.get_running_loop()
    began = loop.time()
    await run(meters=1, interval=60, accelerate=600, cycles=3)  # slots 0.1 s apart
    assert 0.18 <= loop.time() - began < 1.0
    began = loop.time()
    await run(meters=10, cycles=1, rate=50)  # 10 messages at 50/s
    assert 0.15 <= loop.time() - began < 1.0


async def test_embedded_broker_is_311_only_and_needs_a_name() -> None:
    async with EmbeddedBroker() as broker:
        results = {}
        for name, protocol, user in (
            ("v311", paho.MQTTv311, "u"),
            ("v5", paho.MQTTv5, "u"),
            ("anonymous", paho.MQTTv311, None),
        ):
            client = paho.Client(CallbackAPIVersion.VERSION2, client_id=name, protocol=protocol)
            if user:
                client.username_pw_set(user)
            connected = asyncio.get_running_loop().create_future()

            def on_connect(
                c: object,
                u: object,
                f: object,
                reason: paho.ReasonCode,
                p: object,
                fut: asyncio.Future[bool] = connected,
            ) -> None:
                fut.get_loop().call_soon_threadsafe(fut.set_result, not reason.is_failure)

            client.on_connect = on_connect
            try:
                await asyncio.to_thread(client.connect, broker.host, broker.port)
                client.loop_start()
                results[name] = await asyncio.wait_for(connected, 1.5)
            except (TimeoutError, OSError):
                results[name] = False
            finally:
                client.disconnect()
                stop_network_thread(client)
    assert results == {"v311": True, "v5": False, "anonymous": False}


@pytest.mark.skipif(
    not Path("/proc/self/fd").is_dir(), reason="counts the process's sockets in /proc (Linux)"
)
def test_stopping_the_network_thread_closes_its_wakeup_sockets() -> None:
    """No event loop runs during a plain test, so nothing else opens sockets meanwhile."""
    before = socket_inodes()
    client = paho.Client(CallbackAPIVersion.VERSION2, client_id="wakeup")
    client.loop_start()
    assert len(socket_inodes() - before) == 2  # the pair that wakes the thread
    stop_network_thread(client)
    assert socket_inodes() - before == set()


async def test_cli_publishes_to_the_broker(
    mqtt_broker: BrokerEndpoint, mqtt_names: Callable[[str], str]
) -> None:
    # In a thread: the CLI runs its own event loop; the session broker may live in ours.
    result = await asyncio.to_thread(
        CliRunner().invoke,
        app,
        [
            "simulate",
            "mqtt",
            "--url",
            mqtt_broker.url,
            "--meters",
            "4",
            "--cycles",
            "2",
            "--accelerate",
            "0",
            "--format",
            "obis",
            "--malformed",
            "0.5",
            "--seed",
            "2",
            "--prefix",
            mqtt_names("cli"),
            "--protocol",
            mqtt_broker.protocol,
        ],
    )
    assert result.exit_code == 0, result.output
    assert "published 8 messages" in result.output
