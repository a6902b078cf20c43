"""Read-side queries the API and the reconciler use: consumption, latest, history.

Consumption always comes from register differences, never from power. The
consumption of a bucket ``[start, end)`` is the register value at the first read
at or after ``end`` minus the value at the first read at or after ``start``
(inside the bucket); for the bucket still running, the latest read stands in for
the end. With reads on the 15-minute grid this is exactly the bucket's energy.
A bucket without reads gets no row; the energy across such a gap is counted in
the last bucket before it, so totals over a range never lose energy.
A difference below zero is a rollover when adding 10^digits kWh gives a
plausible value; otherwise the row carries ``None`` (the reconciler flags it).
Day and month buckets come from the rollups; hours from raw reads.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Literal

import psycopg
from psycopg.rows import TupleRow

from drivers.domain import Quality, Source

GroupBy = Literal["hour", "day", "month"]

_BUCKETS: dict[GroupBy, str] = {
    "hour": """SELECT date_trunc('hour', read_at, 'Europe/Kyiv') AS bucket,
                      (array_agg(value_wh ORDER BY read_at))[1] AS first_wh,
                      (array_agg(value_wh ORDER BY read_at DESC))[1] AS last_wh,
                      count(*) AS n
               FROM readings
               WHERE meter_id = %(meter)s AND register = %(register)s AND source = %(source)s
                 AND read_at >= %(start)s AND read_at < %(end)s
               GROUP BY 1 ORDER BY 1""",
    "day": """SELECT bucket, first_wh, last_wh, n FROM readings_daily
              WHERE meter_id = %(meter)s AND register = %(register)s AND source = %(source)s
                AND bucket >= %(start)s AND bucket < %(end)s ORDER BY bucket""",
    "month": """SELECT bucket, first_wh, last_wh, n FROM readings_monthly
                WHERE meter_id = %(meter)s AND register = %(register)s AND source = %(source)s
                  AND bucket >= %(start)s AND bucket < %(end)s ORDER BY bucket""",
}

_NEXT_READ = """SELECT value_wh FROM readings
                WHERE meter_id = %(meter)s AND register = %(register)s AND source = %(source)s
                  AND read_at >= %(end)s
                ORDER BY read_at LIMIT 1"""

_BUCKET_END = {
    "hour": "1 hour",
    "day": "1 day",
    "month": "1 month",
}


@dataclass(frozen=True, slots=True, kw_only=True)
class ConsumptionRow:
    interval_start: datetime
    interval_end: datetime
    wh: int | None
    """None when the register went backwards implausibly (see module doc)."""
    reads: int


@dataclass(frozen=True, slots=True, kw_only=True)
class StoredReading:
    meter_id: int
    register: int
    read_at: datetime
    value_wh: int
    source: Source
    quality: Quality
    received_at: datetime
    origin: str


def advance_wh(start_wh: int, end_wh: int, rollover_wh: int) -> int | None:
    """Register advance from start to end, across one rollover when plausible.

    A drop is read as a rollover only when the implied consumption is under a
    tenth of the register range; anything else is not guessed (None).
    """
    diff = end_wh - start_wh
    if diff >= 0:
        return diff
    wrapped = diff + rollover_wh
    return wrapped if 0 <= wrapped < rollover_wh // 10 else None


async def _rollover_wh(conn: psycopg.AsyncConnection[TupleRow], meter_id: int) -> int:
    cur = await conn.execute("SELECT digits FROM meters WHERE id = %s", (meter_id,))
    row = await cur.fetchone()
    if row is None:
        raise LookupError(f"no meter with id {meter_id}")
    return int(10 ** int(row[0]) * 1000)


async def consumption(
    conn: psycopg.AsyncConnection[TupleRow],
    *,
    meter_id: int,
    register: int,
    start: datetime,
    end: datetime,
    group_by: GroupBy,
    source: Source = Source.AUTO,
) -> list[ConsumptionRow]:
    """Consumption per bucket in ``[start, end)``; bucket bounds are Kyiv local
    (``start`` should sit on a bucket boundary)."""
    if start.tzinfo is None or end.tzinfo is None:
        raise ValueError("start and end must be timezone-aware")
    params = {
        "meter": meter_id,
        "register": register,
        "source": source.db_code,
        "start": start,
        "end": end,
    }
    rollover = await _rollover_wh(conn, meter_id)
    cur = await conn.execute(_BUCKETS[group_by], params)
    buckets = await cur.fetchall()
    if not buckets:
        return []
    cur = await conn.execute(_NEXT_READ, params)
    after = await cur.fetchone()
    ends = await conn.execute(
        "SELECT (b AT TIME ZONE 'Europe/Kyiv' + %s::interval) AT TIME ZONE 'Europe/Kyiv'"
        " FROM unnest(%s::timestamptz[]) AS b",
        (_BUCKET_END[group_by], [b[0] for b in buckets]),
    )
    bucket_ends = [r[0] for r in await ends.fetchall()]
    rows = []
    for i, (bucket, first_wh, last_wh, n) in enumerate(buckets):
        if i + 1 < len(buckets):
            end_wh = buckets[i + 1][1]
        else:
            end_wh = after[0] if after is not None else last_wh
        rows.append(
            ConsumptionRow(
                interval_start=bucket,
                interval_end=bucket_ends[i],
                wh=advance_wh(first_wh, end_wh, rollover),
                reads=int(n),
            )
        )
    return rows


async def latest(conn: psycopg.AsyncConnection[TupleRow], meter_id: int) -> list[StoredReading]:
    """The latest reading of each register of a meter (any source)."""
    cur = await conn.execute(
        """SELECT r.meter_id, r.register, r.read_at, r.value_wh, r.source, r.quality,
                  r.received_at, r.origin
           FROM meters m, unnest(m.registers) AS reg,
                LATERAL (SELECT * FROM readings
                         WHERE meter_id = m.id AND register = reg
                         ORDER BY read_at DESC, source LIMIT 1) AS r
           WHERE m.id = %s
           ORDER BY r.register""",
        (meter_id,),
    )
    return [_stored(row) for row in await cur.fetchall()]


async def history(
    conn: psycopg.AsyncConnection[TupleRow],
    *,
    meter_id: int,
    start: datetime,
    end: datetime,
    sources: tuple[Source, ...] = tuple(Source),
    limit: int = 10_000,
) -> list[StoredReading]:
    """Every reading of a meter in ``[start, end)`` with its source, oldest first."""
    cur = await conn.execute(
        """SELECT meter_id, register, read_at, value_wh, source, quality, received_at, origin
           FROM readings
           WHERE meter_id = %s AND read_at >= %s AND read_at < %s AND source = ANY(%s)
           ORDER BY read_at, register, source
           LIMIT %s""",
        (meter_id, start, end, [s.db_code for s in sources], limit),
    )
    return [_stored(row) for row in await cur.fetchall()]


def _stored(row: tuple[object, ...]) -> StoredReading:
    meter_id, register, read_at, value_wh, source, quality, received_at, origin = row
    assert isinstance(source, int)
    assert isinstance(quality, int)
    return StoredReading(
        meter_id=int(str(meter_id)),
        register=int(str(register)),
        read_at=read_at,  # type: ignore[arg-type]
        value_wh=int(str(value_wh)),
        source=Source.from_db(source),
        quality=Quality(quality),
        received_at=received_at,  # type: ignore[arg-type]
        origin=str(origin),
    )
