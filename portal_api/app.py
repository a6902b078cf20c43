"""The app factory: settings in, FastAPI out; the lifespan opens the store."""

from __future__ import annotations

import asyncio
import contextlib
import gc
import logging
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

from fastapi import FastAPI
from psycopg_pool import AsyncConnectionPool

from ingest.migrate import Backend
from ingest.portal import sessions as sessions_sql
from ingest.portal import users as users_sql
from ingest.store import Store, open_store
from portal_api import errors, openapi
from portal_api.errors import ProblemError
from portal_api.fastpath import Counts, FastPath
from portal_api.invitations import invite_staff
from portal_api.limits import BodyLimit
from portal_api.mail import Mailer
from portal_api.routers import api as routers
from portal_api.security.callers import Callers, follow
from portal_api.security.passwords import Passwords
from portal_api.settings import PortalSettings

log = logging.getLogger(__name__)

VERSION = "1.0.0"


def session_settings(backend: Backend) -> dict[str, str]:
    """Server settings for the API's pooled connections.

    Both: ``TimeZone = 'UTC'``. psycopg then gives timestamps with
    ``datetime.UTC``, the zone the code compares and keys them in: a
    comparison across time zones (the server's own TimeZone, say
    ``Etc/UTC``) costs ~1 µs, within one ~0.05 µs. No query depends on it:
    local days and months are taken in Europe/Kyiv explicitly.

    Plain PostgreSQL: ``plan_cache_mode = force_generic_plan``. psycopg prepares
    a statement once it has run five times on a connection; PostgreSQL then
    still planned it anew on every call while it guessed that a plan for the
    values would beat the general one. The portal's repeated statements look
    rows up by user, account, point and meter, where the general plan is the
    same plan: the consumption query took 0.35–0.42 ms to plan and 0.15 ms to
    run. Analytics queries, whose best plan depends on the range asked, set
    ``force_custom_plan`` for their transaction (``ingest.analytics.query``).

    TimescaleDB: nothing more. A generic plan there locks every chunk of a
    hypertable on each execution, so the store plans every statement for its
    values (``ingest.store.PLANNED_PER_CALL``), all but the lookups of every
    request (``ingest.portal._sql.execute_per_request``)."""
    settings = {"TimeZone": "UTC"}
    if backend == "postgresql":
        settings["plan_cache_mode"] = "force_generic_plan"
    return settings


def create_app(
    *,
    database_url: str,
    settings: PortalSettings | None = None,
    pool_min_size: int = 1,
    pool_max_size: int = 8,
) -> FastAPI:
    """The portal API on a migrated store at ``database_url``."""
    settings = settings or PortalSettings()

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        async with open_store(
            database_url,
            min_size=pool_min_size,
            max_size=pool_max_size,
            session_settings=session_settings,
            autocommit=True,  # reads need no transaction; deps.Conn opens one for writes
        ) as store:
            app.state.store = store
            await _housekeeping(store, settings, app.state.mailer)
            async with _following(app.state.callers, database_url, store.pool):
                _tune_collector()
                yield

    app = FastAPI(
        title="metergate portal API",
        version=VERSION,
        lifespan=lifespan,
        openapi_url="/api/v1/openapi.json",
        docs_url="/api/v1/docs",
        redoc_url=None,
    )
    app.state.settings = settings
    app.state.mailer = Mailer(settings)
    app.state.passwords = Passwords(settings)
    app.state.callers = Callers(
        keep_s=settings.caller_cache_s,
        size=settings.caller_cache_size,
        idle=settings.session_idle_timeout,
    )
    errors.install(app)
    routers.include(app)
    if settings.fast_path:
        app.state.fast_path = Counts()
        app.add_middleware(FastPath, routes=list(routers.routes()), counts=app.state.fast_path)
    app.add_middleware(BodyLimit, max_bytes=settings.max_request_bytes)  # outermost: every request
    openapi.install(app)
    return app


@asynccontextmanager
async def _following(
    callers: Callers[object], database_url: str, pool: AsyncConnectionPool
) -> AsyncIterator[None]:
    """The listener that keeps remembered callers true, while the app runs
    (none when remembering is off)."""
    if callers.keep_s <= 0:
        yield
        return
    task = asyncio.create_task(follow(callers, database_url, pool), name="caller-notices")
    try:
        yield
    finally:
        task.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await task


YOUNG_COLLECTION_THRESHOLD = 10_000
"""Net allocations of tracked objects between two collections of the youngest
generation (Python's default: 700)."""


def _tune_collector() -> None:
    """Move everything alive after start-up (modules, routes, schemas, the pool)
    out of the cyclic collector's reach. A full collection otherwise walks those
    ~190,000 objects every time: under load, a 70–90 ms pause every second or
    two that every request in flight waits out (measured in the API benchmark,
    where it made most of the 99th-percentile latency). The objects stay alive
    as before; only the collector stops re-scanning them.

    Then collect the youngest generation less often. With 700, a worker with
    16 requests in flight crossed the threshold on their own live objects
    every few requests (~2,700 collections in the benchmark, ~0.3 ms of CPU
    each on this machine): the collection found little garbage and moved the
    live objects to older generations, whose own collections followed, the
    full ones pausing every request in flight for 10–25 ms. Requests free
    almost everything they make by reference counting; at 10,000 the youngest
    generation was collected twice in the same run, and cyclic garbage still
    cannot pile up past that count."""
    gc.collect()
    gc.freeze()
    young, older, oldest = gc.get_threshold()
    gc.set_threshold(max(young, YOUNG_COLLECTION_THRESHOLD), older, oldest)


async def _housekeeping(store: Store, settings: PortalSettings, mailer: Mailer) -> None:
    """At start: drop expired and idle sessions; create the bootstrap admin if configured."""
    async with store.pool.connection() as conn:
        purged = await sessions_sql.purge_expired(conn, idle=settings.session_idle_timeout)
        if purged:
            log.info("removed %d expired or idle sessions", purged)
    if settings.bootstrap_admin_email:
        await _bootstrap_admin(store, settings, mailer, settings.bootstrap_admin_email)


async def _bootstrap_admin(
    store: Store, settings: PortalSettings, mailer: Mailer, email: str
) -> None:
    """Create the admin login if the address is free, and mail it a set-password
    link, in one transaction: when the mail cannot be sent nothing is created
    (the next start tries again) and the portal still starts."""
    try:
        async with store.pool.connection() as conn, conn.transaction():
            created = await users_sql.create_staff(conn, email, "admin")
            if created is None:
                existing = await users_sql.by_email(conn, email)
                if existing is not None and existing.role != "admin":
                    log.warning(
                        "METERGATE_BOOTSTRAP_ADMIN_EMAIL names an existing login that is "
                        "not an admin (%s); it was left unchanged",
                        existing.role,
                    )
                return
            await invite_staff(conn, created, actor="bootstrap", settings=settings, mailer=mailer)
    except ProblemError:  # the mail failed: the transaction rolled back
        log.error(
            "the bootstrap admin was not created: the set-password mail could not be sent "
            "(check METERGATE_SMTP_*); the next start tries again"
        )
        return
    log.info("created the bootstrap admin login; a set-password link was mailed")
