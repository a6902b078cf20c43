"""Storing consumer and controller readings, and reading a meter's recent values.

These paths write a handful of rows at a time, so a plain INSERT does; like the
batch writer, they record the written time range for the plain-PostgreSQL
rollups (TimescaleDB tracks invalidations itself).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime

import psycopg
from psycopg.rows import TupleRow

from drivers.domain import Quality, Source

Row = tuple[int, int, datetime, int, int, int, str]
"""meter_id, register, read_at, source code, value_wh, quality, origin."""


async def store_rows(conn: psycopg.AsyncConnection[TupleRow], rows: Sequence[Row]) -> int:
    """Insert reading rows (a repeated key is skipped); returns how many were new."""
    if not rows:
        return 0
    async with conn.cursor() as cur:
        await cur.executemany(
            "INSERT INTO readings (meter_id, register, read_at, source, value_wh, quality, origin)"
            " VALUES (%s, %s, %s, %s, %s, %s, %s) ON CONFLICT DO NOTHING",
            rows,
            returning=False,
        )
        inserted = cur.rowcount
        backend = await cur.execute("SELECT backend FROM store_backend")
        row = await backend.fetchone()
        if row is not None and row[0] == "postgresql":
            await cur.execute(
                "INSERT INTO rollup_invalidations (lo, hi) VALUES (%s, %s)",
                (min(r[2] for r in rows), max(r[2] for r in rows)),
            )
    return max(inserted, 0)


@dataclass(frozen=True, slots=True, kw_only=True)
class LastRead:
    """The latest usable reading of a register at or before an instant."""

    value_wh: int
    at: datetime
    source: Source


async def last_reads(
    conn: psycopg.AsyncConnection[TupleRow],
    *,
    meter_id: int,
    registers: Sequence[int],
    at: datetime,
    sources: Sequence[Source] = (Source.AUTO, Source.CONSUMER, Source.CONTROLLER),
    after: bool = False,
) -> dict[int, LastRead]:
    """Per register, the latest reading at or before ``at`` (``after``: the first
    one after it) from ``sources``, skipping estimated and questionable ones."""
    op, order = (">", "ASC") if after else ("<=", "DESC")
    out: dict[int, LastRead] = {}
    for source in sources:
        cur = await conn.execute(
            f"""SELECT reg, r.read_at, r.value_wh
                FROM unnest(%s::smallint[]) AS reg,
                     LATERAL (SELECT read_at, value_wh FROM readings
                              WHERE meter_id = %s AND register = reg AND source = %s
                                AND read_at {op} %s AND quality NOT IN (%s, %s)
                              ORDER BY read_at {order} LIMIT 1) AS r""",
            (
                list(registers),
                meter_id,
                source.db_code,
                at,
                int(Quality.ESTIMATED),
                int(Quality.QUESTIONABLE),
            ),
        )
        for register, read_at, value_wh in await cur.fetchall():
            best = out.get(register)
            closer = best is None or (read_at < best.at if after else read_at > best.at)
            if closer:
                out[register] = LastRead(value_wh=value_wh, at=read_at, source=source)
    return out
