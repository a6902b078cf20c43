"""The MQTT chain under faults: gateway killed, broker restarted, shared stream, bad payloads.

Real brokers (a private Mosquitto per test, unlimited queues, persistence on
disk), real PostgreSQL, the real gateway (in process, or as a subprocess that
is SIGKILLed). Every test checks the exact set of stored readings.
"""

import asyncio
import dataclasses
import os
import signal
import subprocess
import sys
from datetime import timedelta
from pathlib import Path

import psycopg
import pytest

from gateway.config import load_config
from gateway.metrics import Metrics
from gateway.runner import GatewayState, run_gateway
from simulators.mqtt import Fleet, Publisher
from tests.gateway.mqtt_chain import (
    START,
    count,
    expected_rows,
    fleet_config,
    gateway_toml,
    publish_fleet,
    register_fleet,
    stored,
    wait_for_count,
)


def _gateway_process(config: Path, url: str, data_dir: Path) -> subprocess.Popen[bytes]:
    env = dict(os.environ, METERGATE_DATABASE_URL=url, METERGATE_DATA_DIR=str(data_dir))
    return subprocess.Popen(
        [sys.executable, "-m", "gateway.cli", "gateway", "run", "-c", str(config)],
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )


async def test_gateway_killed_mid_stream_and_restarted_loses_and_doubles_nothing(
    store_url: str, private_broker, mqtt_names, tmp_path: Path
) -> None:
    broker = await private_broker()
    prefix = mqtt_names("kill")
    warmup = fleet_config(prefix, meters=40, cycles=1)
    main = dataclasses.replace(warmup, cycles=60, start=START + timedelta(days=1), duplicates=0.02)
    register_fleet(store_url, main)
    toml = gateway_toml(tmp_path, broker, client_id=mqtt_names("gw"), prefix=prefix)
    gateway = _gateway_process(toml, store_url, tmp_path / "data")
    try:
        # Until the gateway has subscribed, the broker drops what it is sent:
        # repeat the warm-up (the store drops repeats) until it lands.
        for _ in range(30):
            warm = await publish_fleet(
                broker.host, broker.port, warmup, protocol=broker.protocol, username=broker.username
            )
            if await wait_for_count(store_url, len(warm.expected()), seconds=1) == len(
                warm.expected()
            ):
                break
        else:
            raise AssertionError("the gateway never subscribed")
        publishing = asyncio.create_task(
            publish_fleet(
                broker.host, broker.port, main, protocol=broker.protocol, username=broker.username
            )
        )
        target = len(warm.expected()) + 40 * 60 * 3  # an upper bound of the main fleet's readings
        await wait_for_count(store_url, target // 3)
        gateway.send_signal(signal.SIGKILL)
        gateway.wait(10)
        killed_at = count(store_url)
        gateway = _gateway_process(toml, store_url, tmp_path / "data")
        report = await publishing
        want = expected_rows(warm) | expected_rows(report)
        assert await wait_for_count(store_url, len(want)) == len(want)
        gateway.send_signal(signal.SIGTERM)
        assert gateway.wait(30) == 0
    finally:
        if gateway.poll() is None:
            gateway.kill()
            gateway.wait(10)
    assert 0 < killed_at < len(want), "the kill must land mid-stream"
    assert stored(store_url) == want


async def _run(config, url: str, data_dir: Path):
    stop = asyncio.Event()
    state = GatewayState(metrics=Metrics())
    task = asyncio.create_task(
        run_gateway(config, database_url=url, data_dir=data_dir, stop=stop, state=state)
    )
    await asyncio.wait_for(state.ready.wait(), 30)
    return stop, state, task


async def test_broker_restart_loses_nothing(
    store_url: str, private_broker, mqtt_names, tmp_path: Path
) -> None:
    broker = await private_broker()
    if not broker.persistent:
        pytest.skip("no mosquitto binary: the embedded broker forgets sessions on restart")
    prefix = mqtt_names("restart")
    first = fleet_config(prefix, meters=30, cycles=20)
    second = dataclasses.replace(first, start=START + timedelta(days=2))
    register_fleet(store_url, first)
    toml = gateway_toml(tmp_path, broker, client_id=mqtt_names("gw"), prefix=prefix)
    stop, _, task = await _run(load_config(toml), store_url, tmp_path)
    await asyncio.sleep(0.5)  # let the driver subscribe
    one = await publish_fleet(broker.host, broker.port, first, protocol=broker.protocol)
    await wait_for_count(store_url, len(one.expected()) // 2)
    await broker.stop()
    await asyncio.sleep(1.0)
    await broker.start()
    two = await publish_fleet(broker.host, broker.port, second, protocol=broker.protocol)
    want = expected_rows(one) | expected_rows(two)
    got = await wait_for_count(store_url, len(want))
    stop.set()
    await asyncio.wait_for(task, 30)
    assert got == len(want)
    assert stored(store_url) == want


async def test_two_gateways_split_one_shared_subscription(
    store_url: str, private_broker, mqtt_names, tmp_path: Path
) -> None:
    broker = await private_broker()
    if broker.protocol != "5":
        pytest.skip(
            "no mosquitto binary: the embedded broker has no shared subscriptions (MQTT 3.1.1)"
        )
    prefix = mqtt_names("shared")
    fleet = fleet_config(prefix, meters=50, cycles=40)
    register_fleet(store_url, fleet)
    toml = gateway_toml(
        tmp_path,
        broker,
        client_id=mqtt_names("gw"),
        prefix=prefix,
        extra='share_group = "metergate-test"',
    )
    config = load_config(toml)
    running = [await _run(config.for_worker(i), store_url, tmp_path / f"w{i}") for i in range(2)]
    await asyncio.sleep(0.5)
    report = await publish_fleet(broker.host, broker.port, fleet, protocol="5")
    want = expected_rows(report)
    got = await wait_for_count(store_url, len(want))
    for stop, _, task in running:
        stop.set()
        await asyncio.wait_for(task, 30)
    assert got == len(want)
    assert stored(store_url) == want
    received = [state.pipelines["mqtt"].totals.inserted for _, state, _ in running]
    assert all(n > 0 for n in received), f"both workers must take part: {received}"
    assert sum(received) == len(want)


async def test_malformed_payloads_become_dead_letters_and_the_stream_goes_on(
    store_url: str, mqtt_broker, mqtt_names, tmp_path: Path
) -> None:
    prefix = mqtt_names("bad")
    fleet = fleet_config(prefix, meters=20, cycles=30, malformed=0.1)
    register_fleet(store_url, fleet)
    toml = gateway_toml(tmp_path, mqtt_broker, client_id=mqtt_names("gw"), prefix=prefix)
    stop, _, task = await _run(load_config(toml), store_url, tmp_path)
    await asyncio.sleep(0.5)
    async with Publisher(
        mqtt_broker.host,
        mqtt_broker.port,
        protocol=mqtt_broker.protocol,
        username=mqtt_broker.username,
    ) as pub:
        report = await Fleet(fleet, pub).run()
        # One meter the store does not know: its readings are rejected, not lost.
        await pub.publish(
            f"{prefix}/UNKNOWN1/reading",
            b'{"meter":"UNKNOWN1","ts":1772323200,"registers":[{"register":0,"value":1,"unit":"kWh"}]}',
        )
    want = expected_rows(report)
    await wait_for_count(store_url, len(want))
    for _ in range(50):
        with psycopg.connect(store_url) as conn:
            letters = conn.execute("SELECT kind, reason FROM dead_letters").fetchall()
        if len(letters) >= report.malformed + 1:
            break
        await asyncio.sleep(0.1)
    stop.set()
    await asyncio.wait_for(task, 30)
    assert report.malformed > 0
    assert stored(store_url) == want
    assert sum(1 for kind, _ in letters if kind == "mqtt") == report.malformed
    assert ("writer", "unknown meter 'UNKNOWN1'") in letters


async def test_database_link_cut_under_the_running_gateway_loses_and_doubles_nothing(
    store_url: str, pg_proxy, private_broker, mqtt_names, tmp_path: Path
) -> None:
    proxy, proxied_url = pg_proxy
    broker = await private_broker()
    prefix = mqtt_names("dbcut")
    before = fleet_config(prefix, meters=40, cycles=10)
    during = dataclasses.replace(before, cycles=30, start=START + timedelta(days=3))
    register_fleet(store_url, before)
    toml = gateway_toml(tmp_path, broker, client_id=mqtt_names("gw"), prefix=prefix)
    loaded = load_config(toml)
    config = dataclasses.replace(
        loaded, pipeline=dataclasses.replace(loaded.pipeline, retry_interval_s=0.2)
    )
    stop, state, task = await _run(config, proxied_url, tmp_path)
    await asyncio.sleep(0.5)
    first = await publish_fleet(
        broker.host, broker.port, before, protocol=broker.protocol, username=broker.username
    )
    assert await wait_for_count(store_url, len(first.expected())) == len(first.expected())
    await proxy.cut()
    second = await publish_fleet(
        broker.host, broker.port, during, protocol=broker.protocol, username=broker.username
    )
    for _ in range(150):  # the writer gives up after its retries and the gateway spools
        if state.summary()["spooled"] > 0:
            break
        await asyncio.sleep(0.1)
    spooled_while_down = state.summary()["spooled"]
    await proxy.restore()
    want = expected_rows(first) | expected_rows(second)
    got = await wait_for_count(store_url, len(want))
    stop.set()
    await asyncio.wait_for(task, 30)
    assert spooled_while_down > 0, "the outage must have sent batches to the spool"
    assert got == len(want)
    assert stored(store_url) == want
    assert state.summary()["spool_batches"] == 0
