"""Opening the store: settings applied to every pooled connection, by backend."""

from __future__ import annotations

import asyncio
from collections.abc import Callable

import psycopg
from psycopg import sql
from psycopg.pq import TransactionStatus

from ingest.analytics.query import Query, fetch
from ingest.migrate import Backend
from ingest.store import open_store
from portal_api.app import session_settings


def _backend(url: str) -> str:
    with psycopg.connect(url) as conn:
        row = conn.execute("SELECT backend FROM store_backend").fetchone()
    assert row is not None
    return str(row[0])


def _named(backend: Backend) -> dict[str, str]:
    return {"application_name": f"mg test on {backend}", "work_mem": "7MB"}


async def test_session_settings_reach_every_pooled_connection(store_url: str) -> None:
    async with open_store(store_url, min_size=1, max_size=3, session_settings=_named) as store:
        held, all_seen = asyncio.Event(), asyncio.Event()
        seen: list[tuple[str, str]] = []

        async def look() -> None:
            async with store.pool.connection() as conn:
                # handed over idle: the settings were not left in an open transaction
                assert conn.info.transaction_status == TransactionStatus.IDLE
                cur = await conn.execute(
                    "SELECT current_setting('application_name'), current_setting('work_mem')"
                )
                row = await cur.fetchone()
                assert row is not None
                seen.append(row)
                if len(seen) == 3:
                    all_seen.set()
                await conn.rollback()
                await held.wait()  # hold it, so the next one is a new connection

        tasks = [asyncio.create_task(look()) for _ in range(3)]
        await asyncio.wait_for(all_seen.wait(), 10)
        held.set()
        await asyncio.gather(*tasks)
    assert seen == [(f"mg test on {_backend(store_url)}", "7MB")] * 3


async def _plan_cache_mode(url: str, settings: Callable[[Backend], dict[str, str]] | None) -> str:
    async with (
        open_store(url, max_size=1, session_settings=settings) as store,
        store.pool.connection() as conn,
    ):
        cur = await conn.execute("SELECT current_setting('plan_cache_mode')")
        row = await cur.fetchone()
    assert row is not None
    return str(row[0])


async def test_timescaledb_connections_never_take_a_generic_plan(store_url: str) -> None:
    """A generic plan locks every chunk of a hypertable on each execution."""
    backend = _backend(store_url)
    expected = {"postgresql": "auto", "timescaledb": "force_custom_plan"}[backend]
    assert await _plan_cache_mode(store_url, None) == expected
    # the store's rule wins over nothing the caller says; the caller may add
    assert await _plan_cache_mode(store_url, _named) == expected


async def test_the_api_plans_generically_on_plain_postgresql_only(store_url: str) -> None:
    expected = {"postgresql": "force_generic_plan", "timescaledb": "force_custom_plan"}
    assert await _plan_cache_mode(store_url, session_settings) == expected[_backend(store_url)]


async def test_analytics_queries_plan_for_their_own_values(store_url: str) -> None:
    generic = {"plan_cache_mode": "force_generic_plan"}
    async with open_store(store_url, max_size=1, session_settings=lambda _: generic) as store:
        query = Query(
            statement=sql.SQL("SELECT current_setting('plan_cache_mode')"),
            params={},
            columns=(),
            table="readings",
        )
        async with store.pool.connection() as conn:
            assert await fetch(conn, query) == [("force_custom_plan",)]
            cur = await conn.execute("SELECT current_setting('plan_cache_mode')")
            assert await cur.fetchone() == ("force_generic_plan",)  # only for that transaction
