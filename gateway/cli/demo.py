"""``metergate demo``: the whole chain on embedded defaults."""

from __future__ import annotations

import asyncio
import json
import logging
import signal
import sys
from typing import Annotated

import typer

from gateway.database import database_url
from gateway.settings import settings_or_exit


def demo(
    seconds: Annotated[
        float | None,
        typer.Option("--for", min=1, help="Run this long, print a JSON summary, exit 0."),
    ] = None,
    fleet: Annotated[int, typer.Option(min=1, help="MQTT meters in the simulated fleet.")] = 1_000,
    api_port: Annotated[int, typer.Option(help="Port of the portal API.")] = 8000,
) -> None:
    """Run the chain: embedded PostgreSQL and broker, simulators, gateway, API."""
    from gateway.demo import DemoOptions, run_demo  # the CLI loads what a command needs

    logging.basicConfig(
        level=logging.WARNING, format="%(asctime)s %(name)s %(levelname)s %(message)s"
    )
    settings = settings_or_exit()
    where = (
        "METERGATE_DATABASE_URL"
        if settings.database_url
        else f"embedded PostgreSQL in {settings.data_dir / 'pg'}"
    )
    url = database_url(settings)

    def echo(line: str) -> None:
        print(line, file=sys.stderr, flush=True)

    echo(f"store: {where}")

    async def main() -> dict[str, object]:
        task = asyncio.current_task()
        loop = asyncio.get_running_loop()
        for sig in (signal.SIGINT, signal.SIGTERM):
            loop.add_signal_handler(sig, task.cancel if task else (lambda: None))
        options = DemoOptions(fleet_meters=fleet, api_port=api_port)
        return await run_demo(settings, url, options=options, seconds=seconds, echo=echo)

    try:
        summary = asyncio.run(main())
    except (KeyboardInterrupt, asyncio.CancelledError):
        echo("stopped")
        return
    typer.echo(json.dumps(summary))
