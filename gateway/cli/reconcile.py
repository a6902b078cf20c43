"""``metergate reconcile …`` and ``metergate import …``."""

from __future__ import annotations

import typer

app = typer.Typer(no_args_is_help=True)
import_app = typer.Typer(no_args_is_help=True)


@app.command("run")
def run() -> None:
    """Reconcile billing periods (not yet implemented)."""
    raise SystemExit("not implemented yet")


@import_app.command("controller")
def import_controller(file: str) -> None:
    """Import controller readings from CSV (not yet implemented)."""
    raise SystemExit("not implemented yet")
