"""``metergate demo``: the whole chain on embedded defaults."""

from __future__ import annotations

import json
import time
from typing import Annotated

import psycopg
import typer

from gateway.database import database_url
from gateway.settings import settings_or_exit
from ingest import rollups
from ingest.migrate import migrate, status
from ingest.seed import seed


def demo(
    meters: Annotated[
        int, typer.Option(min=1, help="Meters to seed when the store is empty.")
    ] = 200,
    days: Annotated[int, typer.Option(min=1, help="Days of history to seed.")] = 14,
) -> None:
    """Migrate and seed the store (embedded PostgreSQL unless METERGATE_DATABASE_URL)."""
    settings = settings_or_exit()
    started = time.perf_counter()
    url = database_url(settings)
    where = (
        "METERGATE_DATABASE_URL"
        if settings.database_url
        else f"embedded PostgreSQL in {settings.data_dir / 'pg'}"
    )
    typer.echo(f"store: {where}")
    applied = migrate(url)
    info = status(url)
    typer.echo(f"backend: {info.backend_line}; migrations applied now: {len(applied)}")
    with psycopg.connect(url) as conn:
        row = conn.execute("SELECT count(*) FROM meters").fetchone()
    existing = row[0] if row else 0
    if existing == 0:
        result = seed(url, meters=meters, days=days)
        rollups.refresh(url, info.backend)
        typer.echo(
            f"seeded {result.meters} meters with {result.readings} readings over {days} days"
        )
    else:
        typer.echo(f"store already holds {existing} meters; not seeding again")
    with psycopg.connect(url) as conn:
        counts = conn.execute(
            "SELECT (SELECT count(*) FROM meters), (SELECT count(*) FROM readings),"
            " (SELECT count(*) FROM readings_daily)"
        ).fetchone()
    assert counts is not None
    typer.echo(json.dumps({
        "demo": "store",
        "backend": info.backend,
        "meters": counts[0],
        "readings": counts[1],
        "daily_rollup_rows": counts[2],
        "seconds": round(time.perf_counter() - started, 1),
    }))  # fmt: skip
