"""Fixtures of the portal tests: a real SMTP server in process (aiosmtpd), the
app on a real PostgreSQL store (the ``store_url`` fixture), HTTP clients over
ASGI, and a small world of accounts, meters and logins."""

from __future__ import annotations

from collections.abc import AsyncIterator, Callable, Iterator

import httpx
import psycopg
import pytest
from fastapi import FastAPI
from psycopg import sql

from portal_api import PortalSettings, create_app
from portal_api.devmail import DevMailServer
from tests.fixtures.db import empty_store
from tests.portal.world import Portal, World, build_world


@pytest.fixture(scope="session")
def mail_server() -> Iterator[DevMailServer]:
    with DevMailServer() as server:
        yield server


@pytest.fixture
def mail(mail_server: DevMailServer) -> DevMailServer:
    mail_server.clear()
    return mail_server


@pytest.fixture
def settings_overrides() -> dict[str, object]:
    """Tests override settings by redefining this fixture (they get their own app)."""
    return {}


def _settings(mail: DevMailServer, overrides: dict[str, object]) -> PortalSettings:
    base: dict[str, object] = {
        "smtp_host": mail.host,
        "smtp_port": mail.port,
        "public_base_url": "https://cabinet.example.test",
        # argon2id still, at a cost that keeps the suite fast
        "argon2_time_cost": 1,
        "argon2_memory_kib": 1024,
        "argon2_parallelism": 1,
    }
    return PortalSettings(**{**base, **overrides})  # type: ignore[arg-type]


@pytest.fixture
def portal_settings(mail: DevMailServer, settings_overrides: dict[str, object]) -> PortalSettings:
    return _settings(mail, settings_overrides)


_KEEP = frozenset(
    {
        "schema_migrations",
        "store_backend",
        "tariff_calendars",
        "reconcile_policy",
        "rollup_state",
        "reconcile_state",
    }
)


def clean(url: str) -> None:
    """Empty every table but configuration, children before parents.

    DELETE, not TRUNCATE: on these small tables it is ten times faster (TRUNCATE
    makes and syncs new files for every table and index). TimescaleDB keeps
    materialized aggregates that a DELETE would leave stale: there the store's
    own ``empty_store`` runs.
    """
    with psycopg.connect(url, autocommit=True) as conn:
        backend = conn.execute("SELECT backend FROM store_backend").fetchone()
        tables = [
            r[0]
            for r in conn.execute(
                "SELECT c.relname FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace"
                " WHERE n.nspname = 'public' AND c.relkind IN ('r', 'p')"
            ).fetchall()
        ]
        edges = conn.execute(
            "SELECT conrelid::regclass::text, confrelid::regclass::text FROM pg_constraint"
            " WHERE contype = 'f' AND conrelid <> confrelid"
        ).fetchall()
        if backend and backend[0] == "timescaledb":
            empty_store(url)
        with conn.transaction():
            conn.execute("SET LOCAL synchronous_commit = off")
            for table in _children_first([t for t in tables if t not in _KEEP], edges):
                conn.execute(sql.SQL("DELETE FROM {}").format(sql.Identifier(table)))
            if backend and backend[0] == "postgresql":  # TimescaleDB keeps its own
                conn.execute("UPDATE rollup_state SET watermark = '1970-01-01 00:00+00'")
            conn.execute("UPDATE reconcile_state SET watermark = '1970-01-01 00:00+00'")


def _children_first(tables: list[str], edges: list[tuple[str, str]]) -> list[str]:
    """Tables ordered so that every referencing table comes before its parent."""
    remaining, ordered = set(tables), []
    while remaining:
        leaves = sorted(
            t
            for t in remaining
            if not any(child in remaining and parent == t and child != t for child, parent in edges)
        )
        if not leaves:
            raise AssertionError(f"foreign-key cycle among {sorted(remaining)}")
        ordered += leaves
        remaining -= set(leaves)
    return ordered


@pytest.fixture
def portal_url(migrated_url: str) -> str:
    """The migrated test database, emptied (store and portal tables)."""
    clean(migrated_url)
    return migrated_url


@pytest.fixture(scope="session")
async def session_app(migrated_url: str, mail_server: DevMailServer) -> AsyncIterator[FastAPI]:
    """One app for the session (FastAPI analyses routes on first use, per app)."""
    _no_autovacuum(migrated_url)
    application = create_app(
        database_url=migrated_url, settings=_settings(mail_server, {}), pool_max_size=8
    )
    async with application.router.lifespan_context(application):
        yield application


def _no_autovacuum(url: str) -> None:
    """Each test empties the tables with TRUNCATE, which waits a deadlock_timeout
    (1 s) for an autovacuum worker to give way: switch autovacuum off here."""
    with psycopg.connect(url, autocommit=True) as conn:
        tables = conn.execute(
            "SELECT c.oid::regclass::text FROM pg_class c"
            " JOIN pg_namespace n ON n.oid = c.relnamespace"
            " WHERE n.nspname = 'public' AND c.relkind IN ('r', 'p')"
        ).fetchall()
        for (table,) in tables:
            conn.execute(f"ALTER TABLE {table} SET (autovacuum_enabled = off)")


@pytest.fixture
async def app(
    portal_url: str,
    portal_settings: PortalSettings,
    settings_overrides: dict[str, object],
    session_app: FastAPI,
) -> AsyncIterator[FastAPI]:
    """The session's app on an emptied store, or a fresh one for overridden settings."""
    if not settings_overrides:
        yield session_app
        return
    application = create_app(database_url=portal_url, settings=portal_settings, pool_max_size=6)
    async with application.router.lifespan_context(application):
        yield application


ClientFactory = Callable[..., httpx.AsyncClient]


class Clients:
    """Makes HTTP clients on an app over ASGI, each with its own cookie jar and
    client address (throttling is per address); closes them all at the end."""

    def __init__(self, app: FastAPI) -> None:
        self.app = app
        self.made: list[httpx.AsyncClient] = []

    def make(self, address: str = "198.51.100.7", token: str | None = None) -> httpx.AsyncClient:
        transport = httpx.ASGITransport(app=self.app, client=(address, 40000))
        headers = {"Authorization": f"Bearer {token}"} if token else {}
        client = httpx.AsyncClient(
            transport=transport,
            base_url="https://testserver",
            headers=headers,
            event_hooks={"request": [self.settled]},
        )
        self.made.append(client)
        return client

    async def settled(self, request: httpx.Request) -> None:
        """Before each request, the app has applied every change committed so
        far to the callers it remembers: tests write to the store behind its
        back, then read through it at once, sooner than a notice of the change
        may arrive (``portal_api.security.callers``; tests/portal/test_callers.py
        checks the notices themselves)."""
        async with self.app.state.store.pool.connection() as conn:
            await self.app.state.callers.settle(conn)

    async def close(self) -> None:
        for client in self.made:
            await client.aclose()


@pytest.fixture
async def make_client(app: FastAPI) -> AsyncIterator[ClientFactory]:
    clients = Clients(app)
    yield clients.make
    await clients.close()


@pytest.fixture
async def client(make_client: ClientFactory) -> httpx.AsyncClient:
    return make_client()


@pytest.fixture
async def portal(
    make_client: ClientFactory,
    mail: DevMailServer,
    portal_url: str,
    portal_settings: PortalSettings,
) -> Portal:
    return Portal(make_client=make_client, mail=mail, url=portal_url, settings=portal_settings)


@pytest.fixture
async def world(portal: Portal) -> World:
    """Two households (A: two-zone, B: single-zone) with 10 days of meter reads,
    consumers A and B linked to them, an operator, an analyst and an admin."""
    return await build_world(portal)


@pytest.fixture(scope="module")
async def world_for_schemathesis(
    migrated_url: str, session_app: FastAPI, mail_server: DevMailServer
) -> AsyncIterator[tuple[World, PortalSettings]]:
    """A world built once for a module (the schemathesis run), on the session app."""
    clean(migrated_url)
    clients = Clients(session_app)
    settings = session_app.state.settings
    portal = Portal(make_client=clients.make, mail=mail_server, url=migrated_url, settings=settings)
    yield await build_world(portal), settings
    await clients.close()
