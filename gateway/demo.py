"""``metergate demo``: the whole chain on embedded defaults, in one process.

Embedded PostgreSQL (unless METERGATE_DATABASE_URL), an embedded MQTT broker
(unless METERGATE_MQTT_URL), two simulated Modbus buses, an MQTT fleet on an
accelerated clock, the gateway, and the API when ``portal_api`` provides it.
A status line every few seconds; with ``seconds`` it stops by itself and
returns a summary.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
from collections.abc import AsyncIterator, Callable
from contextlib import AsyncExitStack, asynccontextmanager
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import psycopg

from drivers.mqtt import MqttConfig
from gateway.config import GatewayConfig, ModbusBusEntry
from gateway.metrics import Metrics
from gateway.pipeline import PipelineConfig
from gateway.runner import GatewayState, run_gateway
from gateway.settings import Settings
from ingest import rollups
from ingest.migrate import migrate, status
from ingest.seed import MeterSpec, register_meters, seed
from portal_api.devmail import DevMailServer
from simulators.broker import EmbeddedBroker, free_port
from simulators.modbus import ModbusSimulator, RunningSimulator, SimulatorConfig
from simulators.mqtt import Fleet, FleetConfig, Publisher

log = logging.getLogger(__name__)

FLEET_PREFIX = "metergate-demo"
FLEET_START_DAYS_AGO = 60
"""The fleet's simulated clock starts this far back, so that at ×180 it stays in
the past (the writer rejects future readings) for eight hours of demo."""


@dataclass(frozen=True, slots=True, kw_only=True)
class DemoOptions:
    fleet_meters: int = 1_000
    fleet_accelerate: float = 180.0
    buses: int = 2
    meters_per_bus: int = 12
    modbus_poll_s: int = 5
    history_meters: int = 200
    history_days: int = 14
    api_port: int = 8000
    status_every_s: float = 5.0


@asynccontextmanager
async def _broker(settings: Settings) -> AsyncIterator[tuple[str, str]]:
    """(url, protocol): the configured broker, else an embedded one (MQTT 3.1.1)."""
    if settings.mqtt_url:
        yield settings.mqtt_url, "5"
        return
    async with EmbeddedBroker() as broker:
        yield broker.url, broker.protocol


def _prepare_store(
    url: str, options: DemoOptions, sims: list[RunningSimulator], fleet: Fleet
) -> dict[str, int]:
    migrate(url)
    with psycopg.connect(url) as conn:
        row = conn.execute("SELECT count(*) FROM meters").fetchone()
        known = {r[0] for r in conn.execute("SELECT serial FROM meters")}
    seeded = 0
    if row is not None and row[0] == 0:
        seeded = seed(url, meters=options.history_meters, days=options.history_days).readings
    specs: list[MeterSpec] = []
    number = 500_000
    for sim in sims:
        for m in sim.meters:
            number += 1
            registers = tuple(sorted(r.register for r in m.profile.registers))
            digits = max(len(str(r.max_kwh)) - 1 for r in m.profile.registers)
            specs.append(
                MeterSpec(
                    number=number,
                    serial=str(m.serial),
                    plan=m.plan,
                    registers=registers,
                    digits=min(digits, 9),
                    model=m.profile.title,
                )
            )
    for sm in fleet.meters:
        number += 1
        specs.append(
            MeterSpec(
                number=number,
                serial=sm.serial,
                plan=sm.plan,
                registers=tuple(sorted(sm.registers)),
                digits=8,
                model="MQTT smart meter",
            )
        )
    fresh = [s for s in specs if s.serial not in known]
    with psycopg.connect(url) as conn:
        register_meters(conn, fresh, datetime.now(UTC) - timedelta(days=FLEET_START_DAYS_AGO + 1))
    rollups.refresh(url, status(url).backend)
    return {"seeded_readings": seeded, "meters_registered": len(fresh)}


def _gateway_config(
    options: DemoOptions,
    mqtt_url: str,
    protocol: str,
    fleet: Fleet,
    sims: list[RunningSimulator],
    http_port: int,
) -> GatewayConfig:
    mqtt = MqttConfig.from_url(
        mqtt_url,
        client_id="metergate-demo-gateway",
        protocol=protocol,
        routes=fleet.config.routes(),
    )
    buses = tuple(
        ModbusBusEntry(
            bus=sim.bus_config(
                f"demo-bus-{i + 1}", poll_interval_s=options.modbus_poll_s, timeout_s=0.5
            ),
            devices=sim.device_configs(),
        )
        for i, sim in enumerate(sims)
    )
    return GatewayConfig(
        source=Path("<demo>"),
        pipeline=PipelineConfig(batch_age_s=0.2),
        mqtt=mqtt,
        modbus=buses,
        spool_path=None,
        http_listen=("127.0.0.1", http_port),
        rollup_refresh_s=60,
        reconcile_interval_s=60,
    )


def _api_server(url: str, port: int, mail_port: int) -> Any | None:
    """A uvicorn server for the portal API, mailing through the demo's SMTP sink."""
    try:
        from portal_api.app import create_app
        from portal_api.settings import PortalSettings
    except ImportError:
        return None
    import uvicorn

    settings = PortalSettings(
        smtp_host="127.0.0.1", smtp_port=mail_port, public_base_url=f"http://127.0.0.1:{port}"
    )
    app = create_app(database_url=url, settings=settings)
    return uvicorn.Server(uvicorn.Config(app, host="127.0.0.1", port=port, log_level="warning"))


async def run_demo(
    settings: Settings,
    url: str,
    *,
    options: DemoOptions,
    seconds: float | None,
    echo: Callable[[str], None],
) -> dict[str, Any]:
    """Run the chain; return a summary when ``seconds`` pass (or on cancellation)."""
    started = time.monotonic()
    async with AsyncExitStack() as stack:
        mqtt_url, protocol = await stack.enter_async_context(_broker(settings))
        sims = [
            await stack.enter_async_context(
                ModbusSimulator(
                    SimulatorConfig(
                        meters=options.meters_per_bus,
                        profiles=("mt32", "sdm630"),
                        seed=i + 1,
                        accelerate=60.0,
                        port=0,
                    )
                )
            )
            for i in range(options.buses)
        ]
        publisher = await stack.enter_async_context(
            Publisher(*_host_port(mqtt_url), protocol=protocol, username=_user(mqtt_url))
        )
        fleet = Fleet(
            FleetConfig(
                meters=options.fleet_meters,
                interval=900,
                accelerate=options.fleet_accelerate,
                prefix=FLEET_PREFIX,
                seed=42,
                malformed=0.001,
                duplicates=0.01,
                start=_floor_day(datetime.now(UTC) - timedelta(days=FLEET_START_DAYS_AGO)),
            ),
            publisher,
        )
        prepared = await asyncio.to_thread(_prepare_store, url, options, sims, fleet)
        echo(f"store ready: {prepared}")
        http_port = free_port()
        config = _gateway_config(options, mqtt_url, protocol, fleet, sims, http_port)
        stop = asyncio.Event()
        state = GatewayState(metrics=Metrics())
        gateway = asyncio.create_task(
            run_gateway(
                config, database_url=url, data_dir=settings.data_dir, stop=stop, state=state
            )
        )
        async with asyncio.timeout(60):
            await state.ready.wait()
        echo(
            f"gateway: metrics and health at http://127.0.0.1:{http_port}/metrics, /health; "
            f"broker {mqtt_url} (MQTT {protocol}); "
            f"{options.buses} Modbus buses × {options.meters_per_bus} meters; "
            f"MQTT fleet of {options.fleet_meters} meters at ×{options.fleet_accelerate:g}"
        )
        mail = stack.enter_context(DevMailServer(echo=True))  # prints the mail it receives
        api = _api_server(url, options.api_port, mail.port)
        api_task = asyncio.create_task(api.serve()) if api else None
        if api:
            echo(
                f"API: http://127.0.0.1:{options.api_port}/api/v1/docs "
                f"(mail goes to an in-process SMTP sink on port {mail.port} and is printed here)"
            )
        publishing = asyncio.create_task(fleet.run())
        try:
            await _status_loop(state, fleet, echo, options.status_every_s, seconds)
        finally:
            publishing.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await publishing
            await asyncio.sleep(1.0)  # let the last messages arrive
            stop.set()
            await gateway
            if api is not None and api_task is not None:
                api.should_exit = True
                await api_task
    summary = {
        "demo": "metergate",
        "seconds": round(time.monotonic() - started, 1),
        "mqtt_messages_published": fleet.report.messages,
        "malformed_published": fleet.report.malformed,
        "duplicates_published": fleet.report.duplicates,
        **prepared,
        **state.summary(),
    }
    return summary


async def _status_loop(
    state: GatewayState,
    fleet: Fleet,
    echo: Callable[[str], None],
    every: float,
    seconds: float | None,
) -> None:
    loop = asyncio.get_running_loop()
    deadline = loop.time() + seconds if seconds else None
    last_written, last_t = 0, loop.time()
    while deadline is None or loop.time() < deadline:
        await asyncio.sleep(min(every, deadline - loop.time()) if deadline else every)
        s = state.summary()
        now = loop.time()
        rate = (s["written"] - last_written) / max(now - last_t, 1e-9)
        last_written, last_t = s["written"], now
        echo(
            f"{rate:8.0f} readings/s | written {s['written']} | duplicates {s['duplicates']} | "
            f"dead letters {s['dead_letters'] + s['rejected']} | "
            f"spool {s['spool_batches']} batches | published {fleet.report.messages} msgs"
        )


def _host_port(url: str) -> tuple[str, int]:
    parts = urlsplit(url)
    return parts.hostname or "127.0.0.1", parts.port or 1883


def _user(url: str) -> str | None:
    return urlsplit(url).username


def _floor_day(t: datetime) -> datetime:
    return t.replace(hour=0, minute=0, second=0, microsecond=0)
