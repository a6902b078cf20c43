"""Opening the store: settings applied to every pooled connection, by backend."""

from __future__ import annotations

import asyncio

import psycopg
from psycopg import sql
from psycopg.pq import TransactionStatus
from psycopg.rows import TupleRow

from ingest.analytics.query import Query, fetch
from ingest.migrate import Backend
from ingest.portal._sql import PER_REQUEST
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


async def _prepared(conn: psycopg.AsyncConnection[TupleRow]) -> int:
    cur = await conn.execute("SELECT count(*) FROM pg_prepared_statements", prepare=False)
    row = await cur.fetchone()
    assert row is not None
    return int(row[0])


async def test_timescaledb_connections_prepare_only_on_request(store_url: str) -> None:
    """A generic plan of a prepared statement locks every chunk of a hypertable
    on each execution: on TimescaleDB psycopg prepares nothing by itself."""
    timescale = _backend(store_url) == "timescaledb"
    async with (
        open_store(store_url, max_size=1, session_settings=session_settings) as store,
        store.pool.connection() as conn,
    ):
        await conn.set_autocommit(True)
        for _ in range(8):  # psycopg prepares after five runs by default
            await conn.execute("SELECT count(*) FROM readings WHERE meter_id = %s", (1,))
        assert await _prepared(conn) == (0 if timescale else 1)
        await conn.execute("SELECT count(*) FROM meters WHERE id = %s", (1,), prepare=PER_REQUEST)
        assert await _prepared(conn) == (1 if timescale else 2)
        cur = await conn.execute("SELECT current_setting('plan_cache_mode')", prepare=False)
        mode = await cur.fetchone()
    assert mode == (("auto",) if timescale else ("force_generic_plan",))


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
