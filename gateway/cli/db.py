"""``metergate db …``: migrate, status, seed."""

from __future__ import annotations

import time
from typing import Annotated

import typer

from gateway.database import database_url
from gateway.settings import settings_or_exit
from ingest import rollups
from ingest.migrate import BackendChoice, migrate, status
from ingest.seed import seed as seed_store

app = typer.Typer(no_args_is_help=True)


@app.command("migrate")
def migrate_cmd(
    backend: Annotated[
        str, typer.Option(help="auto | postgresql | timescaledb (auto: TimescaleDB when it works)")
    ] = "auto",
) -> None:
    """Apply the migrations that are missing (a no-op when up to date)."""
    if backend not in ("auto", "postgresql", "timescaledb"):
        raise typer.BadParameter("must be auto, postgresql or timescaledb", param_hint="--backend")
    url = database_url(settings_or_exit())
    choice: BackendChoice = backend  # type: ignore[assignment]
    applied = migrate(url, backend=choice)
    info = status(url)
    typer.echo(f"backend: {info.backend_line}")
    if applied:
        for m in applied:
            typer.echo(f"applied {m.version}_{m.name}")
    else:
        typer.echo("up to date")


@app.command("status")
def status_cmd() -> None:
    """Print the backend and the applied migrations."""
    info = status(database_url(settings_or_exit()))
    typer.echo(info.backend_line)
    if not info.applied:
        typer.echo("no migrations applied")
    for m in info.applied:
        typer.echo(f"{m.version}_{m.name}  {m.applied_at}  sha256:{m.checksum[:12]}")


@app.command("seed")
def seed_cmd(
    meters: Annotated[int, typer.Option(min=1, help="How many accounts/points/meters.")] = 100,
    days: Annotated[int, typer.Option(min=1, help="Days of 15-minute reads, ending now.")] = 7,
    rng_seed: Annotated[int, typer.Option("--seed", help="Random seed.")] = 1,
    first: Annotated[int, typer.Option(help="Number of the first account (to add more).")] = 1,
) -> None:
    """Load a realistic population with COPY (migrates first)."""
    url = database_url(settings_or_exit())
    migrate(url)
    started = time.perf_counter()
    result = seed_store(url, meters=meters, days=days, rng_seed=rng_seed, first_number=first)
    info = status(url)
    rollups.refresh(url, info.backend)
    typer.echo(
        f"seeded {result.meters} meters, {result.readings} readings "
        f"({result.start:%Y-%m-%d %H:%M}Z .. {result.end:%Y-%m-%d %H:%M}Z) "
        f"in {time.perf_counter() - started:.1f}s on {info.backend_line}"
    )
