"""Small typed helpers the portal's query modules share."""

from __future__ import annotations

from typing import Any, LiteralString, TypeVar

import psycopg
from psycopg import AsyncCursor
from psycopg.rows import BaseRowFactory, RowMaker, TupleRow, class_row

from ingest.store import PLANNED_PER_CALL

T = TypeVar("T")

Conn = psycopg.AsyncConnection[TupleRow]
"""A pooled connection, as the API's dependencies hand it over."""


_GENERIC = "SET plan_cache_mode = force_generic_plan"
_PER_CALL = "SET plan_cache_mode = force_custom_plan"


async def execute_per_request(cur: AsyncCursor[Any], query: LiteralString, params: Any) -> None:
    """Run a statement that runs on every request and touches no hypertable (a
    session, account or point lookup): prepared at once, and planned once per
    connection.

    A TimescaleDB store's connections plan every statement for its values
    (``ingest.store.PLANNED_PER_CALL``); there the statement runs between a
    ``SET`` to generic plans and one back, all three in one pipeline (one round
    trip). If any of them fails, the connection is closed, since it may be
    left with generic plans (the pool replaces it); the error goes on."""
    conn = cur.connection
    if conn not in PLANNED_PER_CALL:
        await cur.execute(query, params, prepare=True)
        return
    try:
        async with conn.pipeline():
            await conn.execute(_GENERIC, prepare=False)
            await cur.execute(query, params, prepare=True)
            await conn.execute(_PER_CALL, prepare=False)
    except BaseException:
        await conn.close()
        raise


def column_names(cursor: Any) -> tuple[str, ...]:
    """The names of the current result's columns, read from libpq: ~0.1 µs a
    column, where ``cursor.description`` builds a ``Column`` for each (~1 µs:
    27 µs for the 27 columns of a point lookup)."""
    result = cursor.pgresult
    if result is None:
        return ()
    return tuple((result.fname(i) or b"").decode() for i in range(result.nfields))


def rows_as(cls: type[T]) -> BaseRowFactory[T]:
    """Rows as ``cls``. A NamedTuple is built from the columns by position, once
    they are checked to be its fields in order: ~0.3 µs a row, where a
    dataclass built by column name costs ~2.5 µs (8 fields) — on the hot
    pages that is a fifth of a millisecond per hundred rows. Anything else
    (a dataclass) is built by name."""
    fields: tuple[str, ...] | None = getattr(cls, "_fields", None)
    if fields is None:
        return class_row(cls)
    make: RowMaker[T] = cls._make  # type: ignore[attr-defined]

    def factory(cursor: Any) -> RowMaker[T]:  # a cursor of either kind
        names = column_names(cursor)
        if names and names != fields:
            raise TypeError(f"columns {names} are not the fields of {cls.__name__}")
        return make

    return factory


async def one(
    conn: Conn,
    cls: type[T],
    query: LiteralString,
    params: Any = None,
    *,
    per_request: bool = False,
) -> T | None:
    """The first row as ``cls`` (see ``rows_as``), or None. ``per_request``: a
    lookup of every request (``execute_per_request``)."""
    async with conn.cursor(row_factory=rows_as(cls)) as cur:
        if per_request:
            await execute_per_request(cur, query, params)
        else:
            await cur.execute(query, params)
        return await cur.fetchone()


async def many(
    conn: Conn,
    cls: type[T],
    query: LiteralString,
    params: Any = None,
) -> list[T]:
    """Every row as ``cls`` (see ``rows_as``)."""
    async with conn.cursor(row_factory=rows_as(cls)) as cur:
        await cur.execute(query, params)
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
