"""Helpers for the gateway's MQTT tests: a fleet, its meters in the store, the checks."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import psycopg

from simulators.mqtt import Fleet, FleetConfig, FleetReport, Publisher
from tests.factories import add_meter

START = datetime(2026, 3, 1, tzinfo=UTC)


def fleet_config(prefix: str, *, meters: int, cycles: int, **options: object) -> FleetConfig:
    return FleetConfig(
        meters=meters,
        cycles=cycles,
        accelerate=0,
        prefix=prefix,
        start=START,
        seed=7,
        **options,  # type: ignore[arg-type]
    )


def register_fleet(url: str, config: FleetConfig) -> None:
    for i in range(config.meters):
        add_meter(url, config.serial(i), digits=8, registers=(0, 1, 2, 3))


def gateway_toml(
    directory: Path, broker: Any, *, client_id: str, prefix: str, extra: str = ""
) -> Path:
    """A gateway configuration reading ``prefix``'s fleet from ``broker`` (anything
    with ``url`` and ``protocol``: a fixture's endpoint or private broker)."""
    path = directory / "gateway.toml"
    url, protocol = broker.url, broker.protocol
    path.write_text(
        f"""
[pipeline]
batch_size = 500
batch_age_s = 0.05

[mqtt]
url = "{url}"
client_id = "{client_id}"
protocol = "{protocol}"
{extra}

[[mqtt.routes]]
topic_filter = "{prefix}/+/reading"
payload_format = "metergate"
"""
    )
    return path


async def publish_fleet(
    host: str, port: int, config: FleetConfig, *, protocol: str, username: str | None = None
) -> FleetReport:
    async with Publisher(host, port, protocol=protocol, username=username) as publisher:
        return await Fleet(config, publisher).run()


def stored(url: str) -> set[tuple[str, int, datetime, int]]:
    with psycopg.connect(url) as conn:
        rows = conn.execute(
            "SELECT m.serial, r.register, r.read_at, r.value_wh"
            " FROM readings r JOIN meters m ON m.id = r.meter_id"
        ).fetchall()
    return {(s, reg, at, v) for s, reg, at, v in rows}


def count(url: str) -> int:
    with psycopg.connect(url) as conn:
        row = conn.execute("SELECT count(*) FROM readings").fetchone()
    assert row is not None
    return int(row[0])


async def wait_for_count(url: str, target: int, seconds: float = 60) -> int:
    n = 0
    for _ in range(int(seconds * 10)):
        n = count(url)
        if n >= target:
            return n
        await asyncio.sleep(0.1)
    return n


def expected_rows(report: FleetReport) -> set[tuple[str, int, datetime, int]]:
    return {(r.serial, r.register, r.read_at, r.value_wh) for r in report.expected()}
