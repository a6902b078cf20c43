"""An analytics query past its statement timeout is cancelled by the server."""

import asyncio
from datetime import timedelta

import psycopg
import pytest
from psycopg import sql

from ingest.analytics import Analytics
from ingest.analytics.query import Column, Query, fetch, fetch_sync

SLOW = Query(
    statement=sql.SQL("SELECT 1 AS n FROM pg_sleep(%(s)s)").format(),
    params={"s": 2},
    columns=(Column(name="n", kind="int"),),
    table="readings",
)


def test_sync_query_is_cancelled_past_its_timeout(store_url: str) -> None:
    with psycopg.connect(store_url) as conn:
        with pytest.raises(psycopg.errors.QueryCanceled):
            fetch_sync(conn, SLOW, statement_timeout=timedelta(milliseconds=100))
        # The connection stays usable and the timeout ended with the transaction.
        assert conn.execute("SHOW statement_timeout").fetchone() == ("0",)
        fast = Query(statement=sql.SQL("SELECT 1").format(), params={}, columns=SLOW.columns,
                     table="readings")  # fmt: skip
        assert fetch_sync(conn, fast, statement_timeout=timedelta(seconds=5)) == [(1,)]


def test_async_query_is_cancelled_past_its_timeout(store_url: str) -> None:
    async def run() -> None:
        async with await psycopg.AsyncConnection.connect(store_url) as conn:
            with pytest.raises(psycopg.errors.QueryCanceled):
                await fetch(conn, SLOW, statement_timeout=timedelta(milliseconds=100))

    asyncio.run(run())


def test_the_pandas_client_passes_its_timeout(store_url: str) -> None:
    client = Analytics(store_url, statement_timeout=timedelta(milliseconds=100))
    with pytest.raises(psycopg.errors.QueryCanceled):
        client.run(SLOW)
    assert list(Analytics(store_url).run(SLOW.__class__(
        statement=sql.SQL("SELECT 1 AS n").format(), params={}, columns=SLOW.columns,
        table="readings",
    ))["n"]) == [1]  # fmt: skip
