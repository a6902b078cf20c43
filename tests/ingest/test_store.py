"""Opening the store: settings applied to every pooled connection."""

from __future__ import annotations

import asyncio

from psycopg import sql
from psycopg.pq import TransactionStatus

from ingest.analytics.query import Query, fetch
from ingest.store import open_store


async def test_session_settings_reach_every_pooled_connection(store_url: str) -> None:
    settings = {"plan_cache_mode": "force_generic_plan", "application_name": "mg test"}
    async with open_store(store_url, min_size=1, max_size=3, session_settings=settings) as store:
        held, all_seen = asyncio.Event(), asyncio.Event()
        seen: list[tuple[str, str]] = []

        async def look() -> None:
            async with store.pool.connection() as conn:
                # handed over idle: the settings were not left in an open transaction
                assert conn.info.transaction_status == TransactionStatus.IDLE
                cur = await conn.execute(
                    "SELECT current_setting('plan_cache_mode'), current_setting('application_name')"
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
    assert seen == [("force_generic_plan", "mg test")] * 3


async def test_analytics_queries_plan_for_their_own_values(store_url: str) -> None:
    settings = {"plan_cache_mode": "force_generic_plan"}
    async with open_store(store_url, max_size=1, session_settings=settings) as store:
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
