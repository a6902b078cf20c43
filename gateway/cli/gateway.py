"""``metergate gateway …``: check a configuration, run the gateway."""

from __future__ import annotations

import asyncio
import logging
import multiprocessing
import signal
from pathlib import Path
from typing import Annotated

import typer

from gateway.config import ConfigError, GatewayConfig, load_config
from gateway.database import database_url
from gateway.runner import run_gateway
from gateway.settings import Settings, settings_or_exit

app = typer.Typer(no_args_is_help=True)

ConfigOption = Annotated[Path, typer.Option("--config", "-c", help="Gateway TOML file.")]


def _load(path: Path, settings: Settings) -> GatewayConfig:
    try:
        return load_config(path, default_mqtt_url=settings.mqtt_url)
    except ConfigError as exc:
        raise SystemExit(str(exc)) from None


@app.command("check")
def check(config: ConfigOption) -> None:
    """Validate a configuration file and say what it configures."""
    cfg = _load(config, settings_or_exit())
    devices = sum(len(b.devices) for b in cfg.modbus)
    mqtt = (
        f"mqtt {cfg.mqtt.host}:{cfg.mqtt.port} ({len(cfg.mqtt.routes)} routes)"
        if cfg.mqtt
        else "no mqtt"
    )
    typer.echo(f"{config}: ok — {mqtt}; {len(cfg.modbus)} modbus buses, {devices} devices")


def _worker(cfg: GatewayConfig, url: str, data_dir: Path) -> None:
    logging.basicConfig(
        level=logging.INFO, format="%(asctime)s %(processName)s %(name)s %(levelname)s %(message)s"
    )

    async def main() -> None:
        stop = asyncio.Event()
        loop = asyncio.get_running_loop()
        for sig in (signal.SIGINT, signal.SIGTERM):
            loop.add_signal_handler(sig, stop.set)
        await run_gateway(cfg, database_url=url, data_dir=data_dir, stop=stop)

    asyncio.run(main())


@app.command("run")
def run(
    config: ConfigOption,
    workers: Annotated[
        int, typer.Option(min=1, max=64, help="Processes sharing the MQTT stream.")
    ] = 1,
) -> None:
    """Run the gateway until SIGINT/SIGTERM (flushes and acknowledges before exiting)."""
    settings = settings_or_exit()
    cfg = _load(config, settings)
    if workers > 1 and (cfg.mqtt is None or cfg.mqtt.share_group is None):
        raise SystemExit(f"{config}: --workers > 1 needs [mqtt] with share_group (MQTT v5)")
    url = database_url(settings)
    if workers == 1:
        _worker(cfg, url, settings.data_dir)
        return
    ctx = multiprocessing.get_context("spawn")
    procs = [
        ctx.Process(target=_worker, args=(cfg.for_worker(i), url, settings.data_dir), name=f"gw{i}")
        for i in range(workers)
    ]
    for p in procs:
        p.start()

    def forward(signum: int, _frame: object) -> None:
        for p in procs:
            p.terminate()  # SIGTERM: each worker flushes and acknowledges, then exits

    signal.signal(signal.SIGTERM, forward)
    signal.signal(signal.SIGINT, forward)
    for p in procs:
        p.join()
