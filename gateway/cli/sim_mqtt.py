"""``metergate simulate mqtt``: a fleet of meters publishing over MQTT (QoS 1)."""

from __future__ import annotations

import asyncio
import contextlib
import os
import sys
from typing import TYPE_CHECKING, Annotated
from urllib.parse import unquote, urlsplit

import typer

from drivers.domain import Plan
from drivers.mqtt import PayloadFormat

if TYPE_CHECKING:
    from simulators.mqtt import FleetConfig


def simulate_mqtt(
    url: Annotated[
        str | None,
        typer.Option(
            help="Broker mqtt://[user:pass@]host[:port] (mqtts:// for TLS). "
            "Default: $METERGATE_MQTT_URL, else an embedded broker."
        ),
    ] = None,
    meters: Annotated[int, typer.Option(min=1, help="Number of meters.")] = 10,
    interval: Annotated[
        float, typer.Option(min=1, help="Simulated seconds between readings.")
    ] = 900,
    payload_format: Annotated[
        PayloadFormat, typer.Option("--format", help="Payload format.")
    ] = PayloadFormat.METERGATE,
    rate: Annotated[
        float, typer.Option(min=0, help="Max messages/s (0 = as fast as possible).")
    ] = 0,
    accelerate: Annotated[
        float, typer.Option(min=0, help="Simulated seconds per real second (0 = no waiting).")
    ] = 1,
    cycles: Annotated[int, typer.Option(min=0, help="Readings per meter (0 = until Ctrl-C).")] = 0,
    malformed: Annotated[
        float, typer.Option(min=0, max=1, help="Share of malformed messages.")
    ] = 0,
    duplicates: Annotated[
        float, typer.Option(min=0, max=1, help="Share of duplicated messages.")
    ] = 0,
    out_of_order: Annotated[float, typer.Option(min=0, max=1, help="Share sent out of order.")] = 0,
    plan: Annotated[
        Plan | None, typer.Option(help="Tariff plan of all meters (default: mixed).")
    ] = None,
    prefix: Annotated[str, typer.Option(help="Topic prefix.")] = "metergate-sim",
    protocol: Annotated[str, typer.Option(help="MQTT protocol: 5 or 3.1.1.")] = "5",
    seed: Annotated[int, typer.Option(help="Random seed (same seed, same readings).")] = 0,
) -> None:
    """Publish simulated meter readings over MQTT with QoS 1."""
    from simulators.mqtt import FleetConfig

    if protocol not in ("5", "3.1.1"):
        raise typer.BadParameter("protocol must be 5 or 3.1.1")
    config = FleetConfig(
        meters=meters,
        interval=interval,
        payload_format=payload_format,
        rate=rate,
        accelerate=accelerate,
        cycles=cycles or None,
        malformed=malformed,
        duplicates=duplicates,
        out_of_order=out_of_order,
        seed=seed,
        plan=plan,
        prefix=prefix,
    )
    broker_url = url or os.environ.get("METERGATE_MQTT_URL")
    with contextlib.suppress(KeyboardInterrupt):
        asyncio.run(_run(config, broker_url, protocol))


async def _run(config: FleetConfig, url: str | None, protocol: str) -> None:
    from simulators.broker import EmbeddedBroker

    if url is None:
        async with EmbeddedBroker() as broker:
            print(f"embedded broker (MQTT 3.1.1) at {broker.url}", file=sys.stderr)
            await _publish(config, broker.url, "3.1.1")
    else:
        await _publish(config, url, protocol)


async def _publish(config: FleetConfig, url: str, protocol: str) -> None:
    from simulators.mqtt import Fleet, Publisher

    parts = urlsplit(url)
    if parts.scheme not in ("mqtt", "mqtts") or not parts.hostname:
        raise typer.BadParameter(f"broker URL must be mqtt://host[:port]: {url}")
    port = parts.port or (8883 if parts.scheme == "mqtts" else 1883)
    publisher = Publisher(
        parts.hostname,
        port,
        protocol=protocol,
        tls=parts.scheme == "mqtts",
        username=unquote(parts.username) if parts.username else None,
        password=unquote(parts.password) if parts.password else None,
    )
    async with publisher:
        fleet = Fleet(config, publisher)
        try:
            await fleet.run()
        finally:
            r = fleet.report
            print(
                f"published {r.messages} messages ({r.good_messages} good, {r.malformed} "
                f"malformed, {r.duplicates} duplicates, {r.out_of_order} out of order), "
                f"{len(r.readings)} readings",
                file=sys.stderr,
            )
