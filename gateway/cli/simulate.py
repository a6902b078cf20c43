"""``metergate simulate …``: each simulator's command lives in its own module."""

from __future__ import annotations

import typer

from gateway.cli.sim_modbus import simulate_modbus
from gateway.cli.sim_mqtt import simulate_mqtt

app = typer.Typer(no_args_is_help=True)
app.command("modbus")(simulate_modbus)
app.command("mqtt")(simulate_mqtt)
