"""``metergate simulate modbus``: serve simulated Modbus meters until Ctrl-C."""

from __future__ import annotations

import asyncio
import contextlib
from typing import Annotated

import typer

from drivers.domain import Plan
from drivers.errors import ConfigurationError
from simulators.modbus import ModbusSimulator, RunningSimulator, SimulatorConfig
from simulators.modbus.server import Framing


def simulate_modbus(
    port: Annotated[int, typer.Option(help="TCP port to listen on (0: any free port).")] = 5020,
    host: Annotated[str, typer.Option(help="Address to bind.")] = "127.0.0.1",
    meters: Annotated[int, typer.Option(min=1, max=247, help="Meters (unit ids) on the bus.")] = 10,
    profile: Annotated[
        list[str] | None, typer.Option(help="Profile(s), cycled over units. Default sdm630.")
    ] = None,
    plan: Annotated[
        list[Plan] | None, typer.Option(help="Tariff plan(s), cycled over units. Default: mix.")
    ] = None,
    accelerate: Annotated[float, typer.Option(min=0, help="Clock speed (60: 1 min = 1 h).")] = 1.0,
    seed: Annotated[int, typer.Option(help="Seed for serials, plans and load curves.")] = 0,
    framing: Annotated[
        str, typer.Option(help="tcp (MBAP), rtu-over-tcp, or rtu (needs --serial-port).")
    ] = "tcp",
    serial_port: Annotated[str | None, typer.Option(help="Serial port for rtu.")] = None,
    first_unit: Annotated[int, typer.Option(min=1, max=247, help="First unit id.")] = 1,
    dead: Annotated[list[int] | None, typer.Option(help="Unit ids that never answer.")] = None,
    slow: Annotated[list[int] | None, typer.Option(help="Unit ids that answer late.")] = None,
    slow_s: Annotated[float, typer.Option(min=0, help="Delay of slow units, seconds.")] = 0.5,
    nan: Annotated[
        list[int] | None, typer.Option(help="Unit ids whose registers read NaN.")
    ] = None,
) -> None:
    """Serve simulated meters over real Modbus, from the driver's own profiles."""
    if framing not in ("tcp", "rtu-over-tcp", "rtu"):
        raise typer.BadParameter("tcp, rtu-over-tcp or rtu", param_hint="--framing")
    try:
        config = SimulatorConfig(
            meters=meters,
            profiles=tuple(profile or ("sdm630",)),
            plans=tuple(plan) if plan else None,
            first_unit=first_unit,
            seed=seed,
            accelerate=accelerate,
            framing=_framing(framing),
            host=host,
            port=port,
            serial_port=serial_port,
            dead=frozenset(dead or ()),
            slow=frozenset(slow or ()),
            slow_s=slow_s,
            nan=frozenset(nan or ()),
        )
    except (ValueError, ConfigurationError) as exc:
        raise typer.BadParameter(str(exc)) from exc
    with contextlib.suppress(KeyboardInterrupt):
        asyncio.run(_serve(config))
    typer.echo("stopped")


def _framing(value: str) -> Framing:
    if value == "rtu":
        return "rtu"
    return "rtu-over-tcp" if value == "rtu-over-tcp" else "tcp"


async def _serve(config: SimulatorConfig) -> None:
    async with ModbusSimulator(config) as sim:
        _print_banner(sim)
        await asyncio.Event().wait()  # until Ctrl-C cancels the run


def _print_banner(sim: RunningSimulator) -> None:
    where = sim.serial_port if sim.framing == "rtu" else f"{sim.host}:{sim.port}"
    typer.echo(
        f"simulating {len(sim.meters)} meters ({sim.framing}) on {where}, "
        f"clock x{sim.clock.accelerate} from {sim.clock.now():%Y-%m-%d %H:%M:%S} UTC; Ctrl-C stops"
    )
    for m in sim.meters:
        typer.echo(f"  unit {m.unit_id:3d}  serial {m.serial}  {m.profile.name:7s} {m.plan}")
