"""``metergate modbus …``."""

from __future__ import annotations

import typer

app = typer.Typer(no_args_is_help=True)


@app.command("plan")
def plan(profile: str) -> None:
    """Print the request plan of a meter profile (not yet implemented)."""
    raise SystemExit("not implemented yet")
