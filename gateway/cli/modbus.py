"""``metergate modbus …``: Modbus tools (the request plan of a meter profile)."""

from __future__ import annotations

from typing import Annotated

import typer

from drivers.errors import ConfigurationError
from drivers.modbus import BusConfig, get_profile, plan_reads

app = typer.Typer(no_args_is_help=True)

_DEFAULT_GAP = BusConfig(name="default", host="localhost").max_gap


@app.command("plan")
def plan(
    profile: Annotated[str, typer.Argument(help="Profile name, e.g. sdm630 or mt32.")],
    max_gap: Annotated[
        int, typer.Option(min=0, help="Unused registers one read may bridge.")
    ] = _DEFAULT_GAP,
) -> None:
    """Print the reads one poll of PROFILE makes: function, start, count, registers covered."""
    try:
        spec = get_profile(profile)
        if spec.max_gap is not None:
            max_gap = min(max_gap, spec.max_gap)
        reads = plan_reads(spec.registers, max_gap=max_gap)
    except ConfigurationError as exc:
        raise typer.BadParameter(str(exc), param_hint="PROFILE") from exc
    typer.echo(
        f"# {spec.name}: {spec.title}; max gap {max_gap}; "
        f"{len(reads)} read(s) per poll for {len(spec.registers)} registers"
    )
    for read in reads:
        covered = " ".join(r.label for r in read.covers)
        typer.echo(
            f"fc={read.function:02d} start={read.address:#06x} count={read.count} "
            f"unused={read.unused} covers={covered}"
        )
    if spec.serial is not None:
        typer.echo(f"# once per device: fc={spec.serial.function:02d} {spec.serial.label}")
