"""The ``metergate`` command: one Typer app, one sub-app per concern."""

from __future__ import annotations

import typer

from gateway.cli.api import api
from gateway.cli.db import app as db_app
from gateway.cli.demo import demo
from gateway.cli.gateway import app as gateway_app
from gateway.cli.modbus import app as modbus_app
from gateway.cli.reconcile import app as reconcile_app
from gateway.cli.reconcile import import_app
from gateway.cli.simulate import app as simulate_app

app = typer.Typer(no_args_is_help=True, add_completion=False, help="Meter-data gateway.")
app.add_typer(db_app, name="db", help="Database: migrate, status, seed.")
app.add_typer(modbus_app, name="modbus", help="Modbus tools: request plans.")
app.add_typer(simulate_app, name="simulate", help="Meter simulators speaking real protocols.")
app.add_typer(reconcile_app, name="reconcile", help="Billing periods from all sources.")
app.add_typer(import_app, name="import", help="Bulk imports (controller readings).")
app.add_typer(gateway_app, name="gateway", help="Run the gateway; check its configuration.")
app.command("api")(api)
app.command("demo")(demo)


def main() -> None:
    app()


__all__ = ["app", "main"]
