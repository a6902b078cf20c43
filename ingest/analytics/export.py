"""Streaming a query's rows out as CSV or Parquet, chunk by chunk.

Energy leaves as kWh: in CSV as exact decimals (integer Wh / 1000 with three
places; means and percentiles with four), in Parquet as float64. Times are
ISO 8601 in Kyiv local time with their offset (CSV) or timestamps tagged
Europe/Kyiv (Parquet). Each chunk of rows becomes CSV lines or one Parquet row
group, so memory stays flat however large the result.
"""

from __future__ import annotations

import csv
import io
from collections.abc import AsyncIterator, Iterable, Sequence
from datetime import datetime
from typing import Any, Literal

import pyarrow as pa
import pyarrow.parquet as pq

from drivers.domain import KYIV, kwh_text
from ingest.analytics.query import Column

Format = Literal["csv", "parquet"]

MEDIA_TYPES: dict[Format, str] = {
    "csv": "text/csv; charset=utf-8",
    "parquet": "application/vnd.apache.parquet",
}

_ARROW: dict[str, pa.DataType] = {
    "time": pa.timestamp("us", tz="Europe/Kyiv"),
    "date": pa.timestamp("us", tz="Europe/Kyiv"),
    "text": pa.string(),
    "int": pa.int64(),
    "float": pa.float64(),
    "wh": pa.float64(),
    "mean_wh": pa.float64(),
}


def _cell(column: Column, value: Any) -> str:
    if value is None:
        return ""
    if column.kind in ("time", "date"):
        assert isinstance(value, datetime)
        return value.astimezone(KYIV).isoformat()
    if column.kind == "wh":
        return kwh_text(int(value))
    if column.kind == "mean_wh":
        return f"{float(value) / 1000:.4f}"
    return str(value)


def csv_lines(columns: Sequence[Column], rows: Iterable[Sequence[Any]], *, header: bool) -> bytes:
    """Rows as CSV (UTF-8, ``\\r\\n`` line ends), with the header line first if asked."""
    out = io.StringIO()
    writer = csv.writer(out)
    if header:
        writer.writerow([c.edge_name for c in columns])
    writer.writerows([_cell(c, v) for c, v in zip(columns, row, strict=True)] for row in rows)
    return out.getvalue().encode()


async def csv_stream(
    columns: Sequence[Column], chunks: AsyncIterator[Sequence[Sequence[Any]]]
) -> AsyncIterator[bytes]:
    """The header, then each chunk of rows as CSV bytes."""
    yield csv_lines(columns, (), header=True)
    async for rows in chunks:
        yield csv_lines(columns, rows, header=False)


def arrow_schema(columns: Sequence[Column]) -> pa.Schema:
    return pa.schema([pa.field(c.edge_name, _ARROW[c.kind]) for c in columns])


def arrow_table(columns: Sequence[Column], rows: Sequence[Sequence[Any]]) -> pa.Table:
    """Rows as an Arrow table with kWh energy columns."""
    data = []
    for i, c in enumerate(columns):
        values = [row[i] for row in rows]
        if c.is_energy:
            values = [None if v is None else float(v) / 1000 for v in values]
        data.append(pa.array(values, type=_ARROW[c.kind]))
    return pa.Table.from_arrays(data, schema=arrow_schema(columns))


class _Sink:
    """A write-only file that hands over what was written since the last take."""

    def __init__(self) -> None:
        self._parts: list[bytes] = []
        self._position = 0
        self.closed = False

    def write(self, data: bytes) -> int:
        self._parts.append(bytes(data))
        self._position += len(data)
        return len(data)

    def tell(self) -> int:
        return self._position

    def flush(self) -> None:
        return None

    def close(self) -> None:
        self.closed = True

    def take(self) -> bytes:
        data = b"".join(self._parts)
        self._parts.clear()
        return data


async def parquet_stream(
    columns: Sequence[Column], chunks: AsyncIterator[Sequence[Sequence[Any]]]
) -> AsyncIterator[bytes]:
    """A Parquet file, one row group per chunk, handed over as it is written."""
    sink = _Sink()
    writer = pq.ParquetWriter(pa.PythonFile(sink, mode="w"), arrow_schema(columns))
    try:
        async for rows in chunks:
            writer.write_table(arrow_table(columns, rows))
            if data := sink.take():
                yield data
        writer.close()
        yield sink.take()
    finally:
        if writer.is_open:  # the consumer went away mid-stream
            writer.close()


def stream(
    fmt: Format, columns: Sequence[Column], chunks: AsyncIterator[Sequence[Sequence[Any]]]
) -> AsyncIterator[bytes]:
    """``chunks`` of rows as a CSV or Parquet byte stream."""
    return csv_stream(columns, chunks) if fmt == "csv" else parquet_stream(columns, chunks)
