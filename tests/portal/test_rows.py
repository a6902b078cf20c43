"""``ingest.portal._sql.rows_as``: NamedTuple rows by position, only when the
columns are the fields in order; dataclass rows by name."""

from __future__ import annotations

from dataclasses import dataclass
from typing import NamedTuple

import psycopg
import pytest

from ingest.portal._sql import column_names, many, one
from tests.portal.world import Portal


class Pair(NamedTuple):
    a: int
    b: str


@dataclass(frozen=True, slots=True, kw_only=True)
class PairRecord:
    a: int
    b: str


async def test_named_tuples_by_position_dataclasses_by_name(portal: Portal) -> None:
    async with await psycopg.AsyncConnection.connect(portal.url) as conn:
        rows = await many(conn, Pair, "SELECT g AS a, g::text AS b FROM generate_series(1, 3) g")
        assert rows == [Pair(1, "1"), Pair(2, "2"), Pair(3, "3")]
        assert await one(conn, PairRecord, "SELECT 'x' AS b, 7 AS a") == PairRecord(a=7, b="x")
        assert await one(conn, Pair, "SELECT 1 AS a, 'y' AS b WHERE false") is None


async def test_named_tuples_refuse_columns_out_of_order(portal: Portal) -> None:
    async with await psycopg.AsyncConnection.connect(portal.url) as conn:
        with pytest.raises(TypeError, match="not the fields of Pair"):
            await one(conn, Pair, "SELECT 'x' AS b, 7 AS a")
        with pytest.raises(TypeError, match="not the fields of Pair"):
            await one(conn, Pair, "SELECT 7 AS a, 'x' AS b, 1 AS c")


async def test_column_names_are_the_descriptions(portal: Portal) -> None:
    async with await psycopg.AsyncConnection.connect(portal.url) as conn:
        cur = conn.cursor()
        assert column_names(cur) == ()  # nothing run yet
        await cur.execute('SELECT 1 AS a, 2 AS "Зона", 3')
        assert column_names(cur) == tuple(c.name for c in cur.description or ())
        assert column_names(cur) == ("a", "Зона", "?column?")
