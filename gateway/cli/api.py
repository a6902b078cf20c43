"""``metergate api``: migrate the store, then serve the portal API with uvicorn."""

from __future__ import annotations

import contextlib
import os
from typing import TYPE_CHECKING, Annotated

import typer

from gateway.cli import api_workers
from gateway.database import database_url
from gateway.settings import Settings, settings_or_exit
from ingest.migrate import migrate, status

if TYPE_CHECKING:
    from fastapi import FastAPI

    from portal_api.settings import PortalSettings

# FastAPI, pandas and the exporters take about a second to import: they load
# when the API is served, not with every ``metergate`` command (the gateway's
# worker processes start faster without them).


def api(
    host: Annotated[str, typer.Option(help="Address to bind.")] = "127.0.0.1",
    port: Annotated[int, typer.Option(min=0, max=65535, help="TCP port.")] = 8000,
    workers: Annotated[int, typer.Option(min=1, help="Worker processes.")] = 1,
    dev_smtp: Annotated[
        bool,
        typer.Option(
            "--dev-smtp/--no-dev-smtp",
            help="Run an SMTP server in process and print every mail (demo; links to follow).",
        ),
    ] = False,
    access_log: Annotated[
        bool,
        typer.Option(
            "--access-log/--no-access-log",
            help="A line on stdout for every request. Off where a reverse proxy keeps the "
            "access log: it costs each request a log record and a write.",
        ),
    ] = True,
) -> None:
    """Serve the portal API under /api/v1 (OpenAPI at /api/v1/openapi.json)."""
    from portal_api.settings import portal_settings_or_exit

    settings = settings_or_exit()
    portal = portal_settings_or_exit()
    url = database_url(settings)
    migrate(url)
    typer.echo(f"store: {status(url).backend_line}; API on http://{host}:{port}/api/v1/docs")
    serve(
        url,
        settings,
        portal,
        host=host,
        port=port,
        workers=workers,
        dev_smtp=dev_smtp,
        access_log=access_log,
    )


def serve(
    url: str,
    settings: Settings,
    portal: PortalSettings,
    *,
    host: str,
    port: int,
    workers: int = 1,
    dev_smtp: bool = False,
    access_log: bool = True,
) -> None:
    """Run uvicorn until interrupted (``metergate demo`` calls this too)."""
    import uvicorn

    from gateway.cli.api_http import HeadWithBody
    from portal_api import create_app
    from portal_api.devmail import DevMailServer

    with contextlib.ExitStack() as stack:
        if dev_smtp:
            mail = stack.enter_context(DevMailServer(echo=True))
            portal = portal.model_copy(update={"smtp_host": mail.host, "smtp_port": mail.port})
            typer.echo(f"mail: SMTP on {mail.host}:{mail.port}, printed here")
        if workers == 1:
            app = create_app(
                database_url=url,
                settings=portal,
                pool_min_size=settings.pool_min_size,
                pool_max_size=settings.pool_max_size,
            )
            uvicorn.run(
                app,
                host=host,
                port=port,
                http=HeadWithBody,
                proxy_headers=True,
                access_log=access_log,
            )
            return
        # Each worker builds its app from the environment: pass on what was resolved here.
        os.environ["METERGATE_DATABASE_URL"] = url
        os.environ["METERGATE_SMTP_HOST"] = portal.smtp_host
        os.environ["METERGATE_SMTP_PORT"] = str(portal.smtp_port)
        if api_workers.supported():
            api_workers.run(
                host, port, workers, "gateway.cli.api:app_from_env", access_log=access_log
            )
            return
        uvicorn.run(
            "gateway.cli.api:app_from_env",
            factory=True,
            host=host,
            port=port,
            workers=workers,
            http=HeadWithBody,
            proxy_headers=True,
            access_log=access_log,
        )


def app_from_env() -> FastAPI:
    """The app of one uvicorn worker (``--workers`` > 1), from the environment."""
    from portal_api import create_app
    from portal_api.settings import portal_settings_or_exit

    settings = settings_or_exit()
    return create_app(
        database_url=database_url(settings),
        settings=portal_settings_or_exit(),
        pool_min_size=settings.pool_min_size,
        pool_max_size=settings.pool_max_size,
    )
