"""``metergate reconcile …`` and ``metergate import …``."""

from __future__ import annotations

import asyncio
import json
from dataclasses import asdict
from pathlib import Path
from typing import Annotated

import typer

from gateway.database import database_url
from gateway.settings import settings_or_exit
from ingest.migrate import migrate
from ingest.reconcile import (
    ReconcileError,
    ReconcileSummary,
    close_period,
    import_controller_csv,
    parse_period,
    reconcile,
)

app = typer.Typer(no_args_is_help=True)
import_app = typer.Typer(no_args_is_help=True)

PeriodOption = Annotated[
    str | None, typer.Option("--period", help="Billing month YYYY-MM (default: every open one).")
]


def _url() -> str:
    url = database_url(settings_or_exit())
    migrate(url)
    return url


def _echo(summary: ReconcileSummary) -> None:
    figures = asdict(summary)
    figures["periods"] = [f"{p:%Y-%m}" for p in summary.periods]
    typer.echo(json.dumps(figures))


@app.command("run")
def run(
    period: PeriodOption = None,
    point: Annotated[str | None, typer.Option("--point", help="Only this point (EIC).")] = None,
    incremental: Annotated[
        bool, typer.Option(help="Only points that received data since the last incremental run.")
    ] = False,
) -> None:
    """Reconcile billing periods and print the summary as JSON."""
    try:
        month = parse_period(period) if period else None
        summary = reconcile(_url(), period=month, point_eic=point, incremental=incremental)
    except (ValueError, ReconcileError) as exc:
        raise SystemExit(str(exc)) from None
    _echo(summary)


@app.command("close")
def close(
    period: Annotated[str, typer.Option("--period", help="Billing month YYYY-MM.")],
    actor: Annotated[str, typer.Option(help="Who closes the period (audited).")] = "cli",
    force: Annotated[
        bool, typer.Option(help="Close before the consumer window has ended.")
    ] = False,
) -> None:
    """Reconcile every point one last time and close the period."""
    try:
        summary = close_period(_url(), parse_period(period), actor=actor, force=force)
    except (ValueError, ReconcileError) as exc:
        raise SystemExit(str(exc)) from None
    _echo(summary)


@import_app.command("controller")
def import_controller(
    file: Annotated[Path, typer.Argument(exists=True, dir_okay=False, readable=True)],
    actor: Annotated[str, typer.Option(help="Who imports (audited).")] = "cli",
) -> None:
    """Import controller readings from CSV (format: docs/reconciler.md); bad rows
    are listed with their line numbers, good rows are stored."""
    report = asyncio.run(import_controller_csv(_url(), file, actor=actor))
    for error in report.errors:
        typer.echo(f"{file}:{error.line}: {error.message}", err=True)
    typer.echo(
        f"{report.rows} rows: {report.stored} stored, {report.duplicates} already stored,"
        f" {len(report.errors)} rejected"
    )
    if report.errors:
        raise typer.Exit(1)
