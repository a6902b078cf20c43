"""The whole Modbus chain: simulator over TCP -> gateway (TOML config) -> PostgreSQL."""

import asyncio
import socket
from pathlib import Path

import httpx
import psycopg

from gateway.config import load_config
from gateway.metrics import Metrics
from gateway.runner import GatewayState, run_gateway
from tests.factories import add_meter
from tests.fixtures.modbus import StartSimulator


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


async def test_modbus_readings_arrive_exactly_through_the_gateway(
    store_url: str, modbus_simulator: StartSimulator, tmp_path: Path
) -> None:
    sim = await modbus_simulator(meters=6, profiles=("sdm630", "mt32"), dead=frozenset({6}))
    for m in sim.meters:
        add_meter(
            store_url, str(m.serial), digits=9, registers=[r.register for r in m.profile.registers]
        )
    http_port = _free_port()
    devices = "\n".join(
        f'[[modbus.buses.devices]]\nunit_id = {m.unit_id}\nprofile = "{m.profile.name}"'
        for m in sim.meters
    )
    config_file = tmp_path / "gateway.toml"
    config_file.write_text(
        f"""
[pipeline]
batch_age_s = 0.05

[http]
listen = "127.0.0.1:{http_port}"

[[modbus.buses]]
name = "bus-a"
transport = "tcp"
host = "{sim.host}"
port = {sim.port}
poll_interval_s = 1
timeout_s = 0.3
{devices}
"""
    )
    config = load_config(config_file)
    live = [m for m in sim.meters if m.unit_id != 6]
    expected = {
        (str(m.serial), r.register): m.shown_wh(r.register)
        for m in live
        for r in m.profile.registers
    }
    stop = asyncio.Event()
    state = GatewayState(metrics=Metrics())
    running = asyncio.create_task(
        run_gateway(config, database_url=store_url, data_dir=tmp_path, stop=stop, state=state)
    )
    await asyncio.wait_for(state.ready.wait(), 30)
    rows: list[tuple[str, int, int, str]] = []
    for _ in range(100):
        await asyncio.sleep(0.1)
        with psycopg.connect(store_url) as conn:
            rows = conn.execute(
                """SELECT m.serial, r.register, r.value_wh, r.origin FROM readings r
                   JOIN meters m ON m.id = r.meter_id
                   WHERE r.read_at = (SELECT min(read_at) FROM readings)"""
            ).fetchall()
        if len(rows) >= len(expected):
            break
    async with httpx.AsyncClient() as client:
        metrics = (await client.get(f"http://127.0.0.1:{http_port}/metrics")).text
        health = (await client.get(f"http://127.0.0.1:{http_port}/health")).json()
    stop.set()
    await asyncio.wait_for(running, 30)
    assert {(s, reg): v for s, reg, v, _ in rows} == expected
    assert all(origin.startswith("modbus://bus-a/") for *_, origin in rows)
    assert 'metergate_readings_written_total{source="modbus"}' in metrics
    assert 'metergate_modbus_device_errors{bus="bus-a",unit="6"}' in metrics
    assert health["store_up"] is True
    with psycopg.connect(store_url) as conn:
        dead = conn.execute(
            "SELECT count(*) FROM readings r JOIN meters m ON m.id = r.meter_id"
            " WHERE m.serial = %s",
            (str(sim.meter(6).serial),),
        ).fetchone()
    assert dead == (0,)
