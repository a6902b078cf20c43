"""A built analytics query: SQL, parameters, typed columns and the table it reads.

Building a query does no I/O, so the async API and the synchronous pandas
client run the very same SQL. Energy leaves SQL as integer Wh (bigint) or, for
means and percentiles, as float Wh; the edges convert to kWh.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Mapping
from dataclasses import dataclass
from datetime import timedelta
from typing import Any, Literal

import psycopg
from psycopg import sql
from psycopg.rows import TupleRow

from ingest.analytics.buckets import Table

ColumnKind = Literal["time", "date", "text", "int", "float", "wh", "mean_wh"]
"""``wh``: integer Wh; ``mean_wh``: float Wh (means, percentiles); ``time``:
timestamptz; ``date``: a Kyiv local date."""

STREAM_ROWS = 20_000
"""Rows fetched per round trip when a result is streamed."""


@dataclass(frozen=True, slots=True, kw_only=True)
class Column:
    name: str
    kind: ColumnKind

    @property
    def is_energy(self) -> bool:
        return self.kind in ("wh", "mean_wh")

    @property
    def edge_name(self) -> str:
        """The name outside SQL: energy columns say kWh (``sum_wh`` -> ``sum_kwh``)."""
        return self.name[:-2] + "kwh" if self.is_energy else self.name


@dataclass(frozen=True, slots=True, kw_only=True)
class Query:
    statement: sql.Composed
    params: Mapping[str, Any]
    columns: tuple[Column, ...]
    table: Table
    """The stored relation that answers it: ``readings`` (raw) or
    ``readings_daily`` (the daily rollup)."""
    watermark: bool = False
    """Needs ``%(wm)s``: the daily rollup's watermark, read by the runner just
    before the query (see ``sources``)."""

    @property
    def names(self) -> tuple[str, ...]:
        return tuple(c.name for c in self.columns)


AsyncConn = psycopg.AsyncConnection[TupleRow]
SyncConn = psycopg.Connection[TupleRow]

SETTINGS = (
    # JIT compiles for seconds (2.1 s measured) on plans the rollups make cheap.
    "SET LOCAL jit = off",
    # Fleet queries hash a few hundred thousand rollup rows: keep them in memory.
    "SET LOCAL work_mem = '64MB'",
    # A cursor's plan favours the first rows by default; exports read them all.
    "SET LOCAL cursor_tuple_fraction = 1.0",
    # A fleet query's best plan depends on the range and selection asked: plan
    # it for the values given, also where the connection prefers generic plans
    # (the portal API's do).
    "SET LOCAL plan_cache_mode = force_custom_plan",
)
"""Set for the transaction that runs an analytics query."""

_WATERMARK = "SELECT rollup_watermark()"


def _settings(statement_timeout: timedelta | None) -> tuple[str, ...]:
    """``SETTINGS`` and, with a timeout, ``statement_timeout``: each statement (a
    streamed query's every FETCH) is cancelled past it. None keeps the server's."""
    if statement_timeout is None:
        return SETTINGS
    ms = max(1, int(statement_timeout.total_seconds() * 1000))
    return (*SETTINGS, f"SET LOCAL statement_timeout = {ms}")


def _bound(query: Query, watermark: object) -> Mapping[str, Any]:
    return {**query.params, "wm": watermark} if query.watermark else query.params


async def _prepared(
    conn: AsyncConn, query: Query, statement_timeout: timedelta | None
) -> Mapping[str, Any]:
    for setting in _settings(statement_timeout):
        await conn.execute(setting)
    if not query.watermark:
        return query.params
    cur = await conn.execute(_WATERMARK)
    row = await cur.fetchone()
    assert row is not None
    return _bound(query, row[0])


async def fetch(
    conn: AsyncConn,
    query: Query,
    *,
    limit: int | None = None,
    statement_timeout: timedelta | None = None,
) -> list[TupleRow]:
    """Every row (at most ``limit`` when given), in a transaction (a savepoint
    when one is open) with ``SETTINGS``. Past ``statement_timeout`` the server cancels
    the query: ``psycopg.errors.QueryCanceled``."""
    async with conn.transaction():
        cur = await conn.execute(query.statement, await _prepared(conn, query, statement_timeout))
        return await cur.fetchall() if limit is None else await cur.fetchmany(limit)


async def stream(
    conn: AsyncConn,
    query: Query,
    *,
    rows: int = STREAM_ROWS,
    statement_timeout: timedelta | None = None,
) -> AsyncIterator[list[TupleRow]]:
    """The rows in chunks of ``rows`` through a server-side cursor, so a large
    result never sits in memory whole. ``statement_timeout`` bounds each fetch."""
    async with conn.transaction():
        params = await _prepared(conn, query, statement_timeout)
        async with conn.cursor(name="analytics_export") as cur:
            await cur.execute(query.statement, params)
            while chunk := await cur.fetchmany(rows):
                yield chunk


def fetch_sync(
    conn: SyncConn, query: Query, *, statement_timeout: timedelta | None = None
) -> list[TupleRow]:
    """Every row, on a synchronous connection (the pandas client, the benchmark)."""
    with conn.transaction():
        for setting in _settings(statement_timeout):
            conn.execute(setting)
        watermark = conn.execute(_WATERMARK).fetchone() if query.watermark else None
        params = _bound(query, watermark[0] if watermark else None)
        return conn.execute(query.statement, params).fetchall()
