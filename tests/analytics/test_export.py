"""CSV and Parquet streams carry the query's rows, in kWh and Kyiv time, chunk by chunk."""

from __future__ import annotations

import csv
import io
from collections.abc import AsyncIterator
from datetime import datetime

import psycopg
import pyarrow.parquet as pq
import pytest

from drivers.domain import KYIV
from ingest import analytics
from ingest.analytics import export
from ingest.analytics.client import to_frame
from tests.analytics.world import World

PERIOD = analytics.Period.covering(
    datetime(2026, 10, 24, tzinfo=KYIV), datetime(2026, 10, 29, tzinfo=KYIV), "hour"
)


async def body(world: World, query: analytics.Query, fmt: export.Format, rows: int) -> bytes:
    async with await psycopg.AsyncConnection.connect(world.url) as conn:

        async def chunks() -> AsyncIterator[list[tuple]]:
            async for chunk in analytics.stream(conn, query, rows=rows):
                yield chunk

        return b"".join([part async for part in export.stream(fmt, query.columns, chunks())])


def fetched(world: World, query: analytics.Query) -> list[tuple]:
    with psycopg.connect(world.url) as conn:
        return analytics.fetch_sync(conn, query)


@pytest.mark.parametrize("wh", [0, 7, 1000, 1234567, -1500])
def test_kwh_text_is_exact(wh: int) -> None:
    text = export.kwh_text(wh)
    assert round(float(text) * 1000) == wh
    assert len(text.split(".")[1]) == 3


async def test_csv_stream(seeded: World) -> None:
    query = analytics.series(analytics.Selection(), PERIOD, seeded.backend)
    rows = fetched(seeded, query)
    assert len(rows) > 1500
    data = await body(seeded, query, "csv", rows=1000)
    lines = list(csv.reader(io.StringIO(data.decode())))
    assert lines[0] == [c.edge_name for c in query.columns]
    assert lines[0][-1] == "kwh"
    assert len(lines) == len(rows) + 1
    for line, row in zip(lines[1:], rows, strict=True):
        assert datetime.fromisoformat(line[0]) == row[0]
        assert datetime.fromisoformat(line[0]).utcoffset() == row[0].astimezone(KYIV).utcoffset()
        assert line[2] == row[2]
        assert line[-1] == ("" if row[-1] is None else export.kwh_text(row[-1]))


async def test_parquet_stream_in_row_groups(seeded: World) -> None:
    query = analytics.aggregates(analytics.Selection(), PERIOD, seeded.backend, by=("zone",))
    rows = fetched(seeded, query)
    data = await body(seeded, query, "parquet", rows=100)
    parquet = pq.ParquetFile(io.BytesIO(data))
    assert parquet.metadata.num_rows == len(rows)
    assert parquet.metadata.num_row_groups == -(-len(rows) // 100) > 1
    table = parquet.read()
    assert str(table.schema.field("interval_start").type) == "timestamp[us, tz=Europe/Kyiv]"
    got = table.to_pandas()
    want = to_frame(query, rows)
    assert list(got.columns) == list(want.columns)
    assert (got.interval_start == want.interval_start).all()
    assert list(got.sum_kwh) == list(want.sum_kwh)
    assert list(got.sum_kwh) == [r[4] / 1000 for r in rows]


@pytest.mark.parametrize("fmt", ["csv", "parquet"])
async def test_empty_result_is_a_valid_file(seeded: World, fmt: export.Format) -> None:
    query = analytics.series(analytics.Selection(serial="no-such"), PERIOD, seeded.backend)
    data = await body(seeded, query, fmt, rows=100)
    if fmt == "csv":
        assert data.decode().splitlines() == [",".join(c.edge_name for c in query.columns)]
    else:
        table = pq.read_table(io.BytesIO(data))
        assert table.num_rows == 0
        assert table.column_names == [c.edge_name for c in query.columns]
