"""Opening the store: the connection pool, the backend in use, the writer."""

from __future__ import annotations

import logging
import weakref
from collections.abc import AsyncIterator, Awaitable, Callable, Mapping
from contextlib import asynccontextmanager
from dataclasses import dataclass
from datetime import timedelta
from typing import Any

import psycopg
from psycopg import sql
from psycopg.rows import TupleRow
from psycopg_pool import AsyncConnectionPool

from ingest.errors import MigrationError
from ingest.migrate import Backend
from ingest.writer import ReadingWriter

log = logging.getLogger(__name__)


@dataclass(frozen=True, slots=True, kw_only=True)
class Store:
    """A migrated store: its URL, backend, pool and writer."""

    conninfo: str
    backend: Backend
    pool: AsyncConnectionPool
    writer: ReadingWriter


PLANNED_PER_CALL: weakref.WeakSet[psycopg.AsyncConnection[Any]] = weakref.WeakSet()
"""The pooled connections of TimescaleDB stores: each plans every statement for
the values it is given (``plan_cache_mode = force_custom_plan``).

A generic plan keeps every chunk of a hypertable and locks each one on every
execution: 2,398 locks for one portal consumption query over a year of daily
chunks, 38 with a custom plan. A few such executions at once overflow the lock
table ("out of shared memory"). psycopg prepares any statement run five times
on a connection, and PostgreSQL (``plan_cache_mode = auto``) switches a
prepared statement to its generic plan whenever that looks no dearer than the
custom ones. Forced custom plans rule that out for every statement, and a
prepared statement still keeps its parse and rewrite: a consumption query took
the database ~1.5 ms a call prepared, ~2.1–2.4 ms sent as text.

The statements that touch no hypertable and run on every request (session,
account and point lookups) are planned once per connection all the same
(``ingest.portal._sql.execute_per_request``): planned for each call, the
session-and-points lookup cost the database ~3.4 ms, against ~0.5 ms."""


@asynccontextmanager
async def open_store(
    conninfo: str,
    *,
    min_size: int = 1,
    max_size: int = 8,
    future_tolerance: timedelta = timedelta(minutes=5),
    connect_timeout_s: float = 10.0,
    acquire_timeout_s: float = 2.0,
    session_settings: Callable[[Backend], Mapping[str, str]] | None = None,
    autocommit: bool = False,
) -> AsyncIterator[Store]:
    """Open a pool on a migrated database; say which backend it is.

    Every pooled connection gets ``session_settings(backend)`` (server
    settings, ``SET name = value``), applied once when it connects, after the
    store's own: on TimescaleDB, custom plans only (``PLANNED_PER_CALL``).
    ``autocommit``: the mode the connections are in when handed out (the
    portal's reads run in autocommit, and it opens its transactions itself).

    ``connect_timeout_s`` bounds the first connection; ``acquire_timeout_s`` how
    long a write waits for a connection later — short, so that while the
    database is away the writer gives up quickly and the gateway spools instead
    of stalling its drivers.
    """
    pool = AsyncConnectionPool(
        conninfo,
        min_size=min_size,
        max_size=max_size,
        timeout=acquire_timeout_s,
        open=False,
        configure=_configure(session_settings, autocommit=autocommit),
    )
    await pool.open(wait=True, timeout=connect_timeout_s)
    try:
        async with pool.connection() as conn:
            found = await _backend(conn)
        if found is None:
            raise MigrationError("the database is not migrated: run `metergate db migrate`")
        backend: Backend = found
        log.info("store backend: %s", backend)
        writer = ReadingWriter(
            pool,
            record_invalidations=backend == "postgresql",
            future_tolerance=future_tolerance,
        )
        yield Store(conninfo=conninfo, backend=backend, pool=pool, writer=writer)
    finally:
        await pool.close()


async def _backend(conn: psycopg.AsyncConnection[TupleRow]) -> Backend | None:
    """The backend the database was migrated for; None when it is not migrated."""
    cur = await conn.execute("SELECT to_regclass('store_backend') IS NOT NULL")
    row = await cur.fetchone()
    if not row or not row[0]:
        return None
    cur = await conn.execute("SELECT backend FROM store_backend")
    backend = await cur.fetchone()
    return None if backend is None else backend[0]


def _configure(
    settings_for: Callable[[Backend], Mapping[str, str]] | None, *, autocommit: bool
) -> Callable[[psycopg.AsyncConnection[TupleRow]], Awaitable[None]]:
    known: dict[str, Backend] = {}  # the database's backend, once a connection has read it

    async def configure(conn: psycopg.AsyncConnection[TupleRow]) -> None:
        await conn.set_autocommit(True)  # a plain SET, not one undone with a transaction
        if "backend" not in known and (found := await _backend(conn)) is not None:
            known["backend"] = found  # None: not migrated, which open_store reports
        if "backend" in known:
            backend = known["backend"]
            if backend == "timescaledb":
                await conn.execute("SET plan_cache_mode = force_custom_plan")
                PLANNED_PER_CALL.add(conn)
            for name, value in (settings_for(backend) if settings_for else {}).items():
                await conn.execute(
                    sql.SQL("SET {} = {}").format(sql.Identifier(name), sql.Literal(value))
                )
        await conn.set_autocommit(autocommit)

    return configure
