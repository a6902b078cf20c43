"""MqttDriver against real brokers: formats, acks, sessions, sharing, restarts, backpressure."""

from __future__ import annotations

import asyncio
import json
from collections.abc import Callable
from datetime import UTC, datetime
from typing import Any

import pytest

from drivers.base import Delivery, Driver
from drivers.mqtt import MqttConfig, MqttConnectError, MqttDriver, PayloadFormat, TopicRoute
from simulators.broker import EmbeddedBroker, free_port
from simulators.mqtt import Fleet, FleetConfig, PublishedReading, Publisher
from tests.fixtures.mqtt import BrokerEndpoint

START = datetime(2025, 3, 3, 0, 0, tzinfo=UTC)  # no DST change near it


def config(broker: Any, client_id: str, routes: tuple[TopicRoute, ...], **extra: Any) -> MqttConfig:
    settings: dict[str, Any] = {
        "protocol": broker.protocol,
        "reconnect_min": 0.1,
        "reconnect_max": 0.5,
        "connect_timeout": 5.0,
    }
    return MqttConfig.from_url(broker.url, client_id=client_id, routes=routes, **(settings | extra))


def publisher(broker: Any, protocol: str | None = None) -> Publisher:
    return Publisher(
        broker.host, broker.port, protocol=protocol or broker.protocol, username=broker.username
    )


def reading_route(prefix: str) -> tuple[TopicRoute, ...]:
    return (TopicRoute(topic_filter=f"{prefix}/+/reading", payload_format="metergate"),)


def message(serial: str, n: int) -> bytes:
    return json.dumps(
        {
            "meter": serial,
            "ts": 1740780000 + n,
            "seq": n,
            "registers": [{"register": 0, "value": n, "unit": "Wh"}],
        }
    ).encode()


async def collect(
    driver: MqttDriver,
    until: Callable[[list[Delivery]], bool],
    *,
    timeout: float = 15.0,  # noqa: ASYNC109 - a test helper's deadline
    ack: bool = True,
    delay: float = 0.0,
) -> list[Delivery]:
    got: list[Delivery] = []
    async with asyncio.timeout(timeout):
        async for delivery in driver:
            got.append(delivery)
            if delay:
                await asyncio.sleep(delay)
            if ack:
                delivery.ack()
            if until(got):
                break
    return got


async def quiet(driver: MqttDriver, seconds: float = 0.5) -> list[Delivery]:
    """Whatever arrives within ``seconds`` (expected: nothing)."""
    got: list[Delivery] = []
    try:
        async with asyncio.timeout(seconds):
            async for delivery in driver:
                got.append(delivery)
    except TimeoutError:
        pass
    return got


def seqs(deliveries: list[Delivery]) -> list[int]:
    return [d.readings[0].value_wh for d in deliveries if d.readings]


def stored(deliveries: list[Delivery]) -> set[PublishedReading]:
    return {
        PublishedReading(r.meter, r.register, r.read_at.astimezone(UTC), r.value_wh)
        for d in deliveries
        for r in d.readings
    }


# --- formats end to end ----------------------------------------------------------


@pytest.mark.parametrize("fmt", list(PayloadFormat))
async def test_fleet_arrives_exactly_with_dead_letters(
    mqtt_broker: BrokerEndpoint, mqtt_names: Callable[[str], str], fmt: PayloadFormat
) -> None:
    fleet_cfg = FleetConfig(
        meters=12,
        cycles=6,
        interval=900,
        payload_format=fmt,
        accelerate=0,
        seed=11,
        malformed=0.1,
        duplicates=0.1,
        out_of_order=0.1,
        start=START,
        prefix=mqtt_names("fleet"),
    )
    cfg = config(mqtt_broker, mqtt_names("gw"), fleet_cfg.routes())
    async with MqttDriver(cfg) as driver:
        assert isinstance(driver, Driver)
        async with publisher(mqtt_broker) as pub:
            report = await Fleet(fleet_cfg, pub).run()
        got = await collect(driver, lambda g: len(g) == report.messages)
    assert report.malformed
    assert report.duplicates
    assert report.out_of_order
    assert stored(got) == report.expected()
    dead = [letter for d in got for letter in d.dead_letters]
    assert len(dead) == report.dead_letters
    assert all(letter.kind == "mqtt" and letter.payload and letter.reason for letter in dead)
    assert {letter.origin for letter in dead} <= {
        fleet_cfg.topic(fleet_cfg.serial(i)) for i in range(12)
    }


async def test_malformed_payload_is_dead_lettered_and_stream_goes_on(
    mqtt_broker: BrokerEndpoint, mqtt_names: Callable[[str], str]
) -> None:
    prefix = mqtt_names("bad")
    async with MqttDriver(config(mqtt_broker, mqtt_names("gw"), reading_route(prefix))) as driver:
        async with publisher(mqtt_broker) as pub:
            await pub.publish(f"{prefix}/M1/reading", b'{"meter": "M1", "ts": "broken"')
            await pub.publish(f"{prefix}/M1/reading", message("M1", 2))
        bad, good = await collect(driver, lambda g: len(g) == 2)
    assert not bad.readings
    (letter,) = bad.dead_letters
    assert letter.origin == f"{prefix}/M1/reading"
    assert letter.payload == b'{"meter": "M1", "ts": "broken"'
    assert "JSON" in letter.reason
    assert seqs([good]) == [2]


# --- acknowledgement and persistent session --------------------------------------


async def _unacked_is_redelivered(broker: Any, names: Callable[[str], str], protocol: str) -> None:
    prefix, client_id = names(f"ack{protocol}"), names(f"gw{protocol}")
    cfg = config(broker, client_id, reading_route(prefix), protocol=protocol)
    async with MqttDriver(cfg) as driver:
        async with publisher(broker, protocol) as pub:
            for n in (1, 2, 3):
                await pub.publish(f"{prefix}/M/reading", message("M", n))
        first = await collect(driver, lambda g: len(g) == 3, ack=False)
        first[0].ack()
        first[2].ack()  # message 2 is never acknowledged (a crash before commit)
        first[2].ack()  # a second call does nothing
    async with MqttDriver(cfg) as driver:
        again = await collect(driver, lambda g: len(g) == 1)
        assert seqs(again) == [2]
        assert await quiet(driver) == []
    async with MqttDriver(cfg) as driver:
        assert await quiet(driver) == []  # acknowledged after the reconnect: not sent again


@pytest.mark.parametrize("protocol", ["5", "3.1.1"])
async def test_unacked_message_is_redelivered_after_reconnect(
    private_broker: Any, mqtt_names: Callable[[str], str], protocol: str
) -> None:
    broker = await private_broker()
    if broker.kind != "mosquitto":
        pytest.skip("amqtt drops in-flight messages on disconnect (docs/mqtt.md)")
    await _unacked_is_redelivered(broker, mqtt_names, protocol)


async def test_embedded_broker_speaks_311_with_persistent_sessions(
    mqtt_names: Callable[[str], str],
) -> None:
    async with EmbeddedBroker() as broker:
        prefix = mqtt_names("emb")
        cfg = config(broker, mqtt_names("gw"), reading_route(prefix), protocol="3.1.1")
        async with MqttDriver(cfg) as driver, publisher(broker) as pub:
            await pub.publish(f"{prefix}/M/reading", message("M", 1))
            await pub.drain()
            assert seqs(await collect(driver, lambda g: len(g) == 1)) == [1]
        async with publisher(broker) as pub:  # the gateway is away: the session queues
            for n in (2, 3):
                await pub.publish(f"{prefix}/M/reading", message("M", n))
        async with MqttDriver(cfg) as driver:
            assert seqs(await collect(driver, lambda g: len(g) == 2)) == [2, 3]
        v5 = config(
            broker, mqtt_names("v5"), reading_route(prefix), protocol="5", connect_timeout=1.5
        )
        with pytest.raises(MqttConnectError):
            async with MqttDriver(v5):
                pass


async def test_ack_from_another_thread(
    mqtt_broker: BrokerEndpoint, mqtt_names: Callable[[str], str]
) -> None:
    prefix = mqtt_names("thread")
    cfg = config(mqtt_broker, mqtt_names("gw"), reading_route(prefix))
    async with MqttDriver(cfg) as driver:
        async with publisher(mqtt_broker) as pub:
            await pub.publish(f"{prefix}/M/reading", message("M", 1))
        (delivery,) = await collect(driver, lambda g: len(g) == 1, ack=False)
        await asyncio.to_thread(delivery.ack)
        await asyncio.sleep(0.2)
    async with MqttDriver(cfg) as driver:
        assert await quiet(driver) == []


async def test_no_broker_raises_connect_error(mqtt_names: Callable[[str], str]) -> None:
    cfg = MqttConfig(
        host="127.0.0.1",
        port=free_port(),
        client_id=mqtt_names("gw"),
        routes=reading_route("x"),
        connect_timeout=0.6,
        reconnect_min=0.1,
    )
    with pytest.raises(MqttConnectError, match="within"):
        async with MqttDriver(cfg):
            pass


# --- shared subscriptions -----------------------------------------------------------


async def test_shared_subscription_splits_without_loss(
    mqtt_broker: BrokerEndpoint, mqtt_names: Callable[[str], str]
) -> None:
    if not mqtt_broker.shared_subscriptions:
        pytest.skip(f"{mqtt_broker.kind} has no shared subscriptions")
    prefix, total = mqtt_names("share"), 600
    routes = reading_route(prefix)
    group = mqtt_names("group")
    a = MqttDriver(config(mqtt_broker, mqtt_names("a"), routes, share_group=group))
    b = MqttDriver(config(mqtt_broker, mqtt_names("b"), routes, share_group=group))
    got: dict[str, list[int]] = {"a": [], "b": []}

    async def drain(name: str, driver: MqttDriver) -> None:
        async for delivery in driver:
            got[name].extend(seqs([delivery]))
            delivery.ack()

    async with a, b:
        tasks = [asyncio.create_task(drain("a", a)), asyncio.create_task(drain("b", b))]
        async with publisher(mqtt_broker) as pub:
            for n in range(total):
                await pub.publish(f"{prefix}/M{n % 7}/reading", message(f"M{n % 7}", n))
        async with asyncio.timeout(15):
            while len(got["a"]) + len(got["b"]) < total:  # noqa: ASYNC110
                await asyncio.sleep(0.02)
        for task in tasks:
            task.cancel()
    assert sorted(got["a"] + got["b"]) == list(range(total))
    assert got["a"]
    assert got["b"]


# --- broker restart and backpressure (private Mosquitto) ---------------------------------


async def test_broker_restart_reconnects_and_loses_nothing(
    private_broker: Any, mqtt_names: Callable[[str], str]
) -> None:
    broker = await private_broker()
    if not broker.persistent:
        pytest.skip("the embedded fallback broker keeps no sessions across restarts")
    prefix = mqtt_names("restart")
    cfg = config(broker, mqtt_names("gw"), reading_route(prefix))
    async with MqttDriver(cfg) as driver:
        async with publisher(broker) as pub:
            for n in range(100):
                await pub.publish(f"{prefix}/M/reading", message("M", n))
        before = await collect(driver, lambda g: len(g) == 100, ack=False)
        for delivery in before[:50]:
            delivery.ack()  # the other 50 are "not yet committed" when the broker goes
        await asyncio.sleep(0.2)
        await broker.stop()
        for delivery in before[50:]:
            delivery.ack()  # void: that connection is gone
        await broker.start()
        async with publisher(broker) as pub:
            for n in range(100, 200):
                await pub.publish(f"{prefix}/M/reading", message("M", n))
        after = await collect(driver, lambda g: set(seqs(g)) >= set(range(50, 200)))
    assert set(seqs(after)) == set(range(50, 200))


async def test_slow_consumer_with_small_queue_loses_nothing(
    private_broker: Any, mqtt_names: Callable[[str], str]
) -> None:
    broker = await private_broker()
    prefix, total, queue_size = mqtt_names("slow"), 400, 8
    cfg = config(broker, mqtt_names("gw"), reading_route(prefix), queue_size=queue_size)
    async with MqttDriver(cfg) as driver:
        async with publisher(broker) as pub:
            for n in range(total):
                await pub.publish(f"{prefix}/M/reading", message("M", n))
        most_queued = 0
        got: list[int] = []
        async with asyncio.timeout(20):
            async for delivery in driver:
                most_queued = max(most_queued, driver.queued)
                got.extend(seqs([delivery]))
                await asyncio.sleep(0.002)  # a slow database
                delivery.ack()
                if len(got) == total:
                    break
    assert sorted(got) == list(range(total))
    assert most_queued <= queue_size
    assert most_queued >= queue_size - 1  # the queue did fill: reading really paused
