"""Opening the store: settings applied to every pooled connection, by backend."""

from __future__ import annotations

import asyncio

import psycopg
import pytest
from psycopg import sql
from psycopg.pq import TransactionStatus
from psycopg.rows import TupleRow

from ingest.analytics.query import Query, fetch
from ingest.migrate import Backend
from ingest.portal._sql import execute_per_request
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


async def _plans(conn: psycopg.AsyncConnection[TupleRow], like: str) -> list[tuple[int, int]]:
    """(generic plans, custom plans) of each prepared statement containing ``like``."""
    cur = await conn.execute(
        "SELECT generic_plans, custom_plans FROM pg_prepared_statements"
        " WHERE strpos(statement, %s) > 0",
        (like,),
        prepare=False,
    )
    return [(int(g), int(c)) for g, c in await cur.fetchall()]


async def _mode(conn: psycopg.AsyncConnection[TupleRow]) -> str:
    cur = await conn.execute("SELECT current_setting('plan_cache_mode')", prepare=False)
    row = await cur.fetchone()
    assert row is not None
    return str(row[0])


async def test_timescaledb_connections_plan_every_statement_for_its_values(
    store_url: str,
) -> None:
    """A generic plan locks every chunk of a hypertable on each execution: on
    TimescaleDB no statement gets one, prepared or not."""
    timescale = _backend(store_url) == "timescaledb"
    async with (
        open_store(store_url, max_size=1, session_settings=session_settings) as store,
        store.pool.connection() as conn,
    ):
        await conn.set_autocommit(True)
        for meter in range(1, 11):  # psycopg prepares after five runs by default
            await conn.execute("SELECT count(*) FROM readings WHERE meter_id = %s", (meter,))
        (generic, custom), *more = await _plans(conn, "FROM readings WHERE meter_id")
        assert not more
        if timescale:
            assert (generic, custom) == (0, 5)
            assert await _mode(conn) == "force_custom_plan"
        else:
            assert (generic, custom) == (5, 0)  # the API's force_generic_plan


async def test_lookups_are_planned_once_per_connection(store_url: str) -> None:
    """The lookups of every request keep their generic plan on both backends,
    and a TimescaleDB connection goes back to custom plans after each one."""
    timescale = _backend(store_url) == "timescaledb"
    usual = "force_custom_plan" if timescale else "force_generic_plan"
    async with (
        open_store(store_url, max_size=1, session_settings=session_settings) as store,
        store.pool.connection() as conn,
    ):
        await conn.set_autocommit(True)
        lookup = "SELECT count(*) FROM meters WHERE id = %s"
        for meter in range(1, 9):
            async with conn.cursor() as cur:
                await execute_per_request(cur, lookup, (meter,))
                assert await cur.fetchone() is not None
            assert await _mode(conn) == usual
        assert await _plans(conn, "FROM meters WHERE id") == [(8, 0)]
        await conn.set_autocommit(False)  # inside a write request's transaction too
        async with conn.cursor() as cur:
            await execute_per_request(cur, lookup, (9,))
        await conn.commit()
        assert await _plans(conn, "FROM meters WHERE id") == [(9, 0)]
        assert await _mode(conn) == usual
        async with conn.cursor() as cur:
            await execute_per_request(cur, lookup, (10,))
        await conn.rollback()  # (psycopg then forgets what it prepared)
        assert await _mode(conn) == usual


async def test_a_failed_lookup_never_leaves_generic_plans_behind(store_url: str) -> None:
    """On TimescaleDB a lookup that fails between its two ``SET``s closes the
    connection (it may be left with generic plans); the pool's next one plans
    per call. On plain PostgreSQL the connection stays."""
    timescale = _backend(store_url) == "timescaledb"
    async with open_store(store_url, max_size=1, session_settings=session_settings) as store:
        async with store.pool.connection() as conn:
            await conn.set_autocommit(True)
            async with conn.cursor() as cur:
                with pytest.raises(psycopg.errors.DivisionByZero):
                    await execute_per_request(cur, "SELECT 1 / %s::int", (0,))
            assert conn.closed == timescale
            if not timescale:
                await conn.rollback()
        async with store.pool.connection() as conn:
            assert not conn.closed
            assert await _mode(conn) == ("force_custom_plan" if timescale else "force_generic_plan")


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
