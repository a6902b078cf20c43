"""Small typed helpers the portal's query modules share."""

from __future__ import annotations

from typing import Any, LiteralString, TypeVar

import psycopg
from psycopg.rows import TupleRow, class_row

T = TypeVar("T")

Conn = psycopg.AsyncConnection[TupleRow]
"""A pooled connection, as the API's dependencies hand it over."""


PER_REQUEST = True
"""``prepare=`` for a statement that runs on every request and touches no
hypertable: prepared at once, on TimescaleDB too (``ingest.store.PREPARE_ON_REQUEST``)."""


async def one(
    conn: Conn,
    cls: type[T],
    query: LiteralString,
    params: Any = None,
    *,
    prepare: bool | None = None,
) -> T | None:
    """The first row as ``cls`` (a dataclass whose fields are the columns), or None."""
    async with conn.cursor(row_factory=class_row(cls)) as cur:
        await cur.execute(query, params, prepare=prepare)
        return await cur.fetchone()


async def many(
    conn: Conn,
    cls: type[T],
    query: LiteralString,
    params: Any = None,
    *,
    prepare: bool | None = None,
) -> list[T]:
    """Every row as ``cls``."""
    async with conn.cursor(row_factory=class_row(cls)) as cur:
        await cur.execute(query, params, prepare=prepare)
        return await cur.fetchall()


async def scalar(conn: Conn, query: LiteralString, params: Any = None) -> Any:
    """The first column of the first row (None when there is no row)."""
    cur = await conn.execute(query, params)
    row = await cur.fetchone()
    return None if row is None else row[0]


async def run(conn: Conn, query: LiteralString, params: Any = None) -> int:
    """Execute; return the number of rows affected."""
    cur = await conn.execute(query, params)
    return cur.rowcount
