"""Consumption of a metering point per bucket and tariff zone (P8, P9, P12).

The arithmetic is ``ingest.queries.consumption``'s (register differences,
``advance_wh`` for rollovers), fetched for all zone registers of a meter in one
query (``span_consumption``; a test holds the two equal). The point's meters are
taken in turn for the time each was installed there, so a meter replacement
inside a bucket adds both meters' energy. Hours, days and months come straight
from the store; weeks are summed from days, quarters and years from months, all
in Kyiv local time.
A zone of a bucket is None when the register went backwards implausibly (the
store does not guess a reset); the bucket total is then None as well.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from datetime import UTC, date, datetime, time, timedelta
from typing import Any, Literal, NamedTuple

from drivers.domain import KYIV, Plan, Source, plan_registers
from ingest import queries
from ingest.migrate import Backend
from ingest.portal._sql import Conn
from ingest.portal.history import MeterSpan, meter_spans

GroupBy = Literal["hour", "day", "week", "month", "quarter", "year"]

BASE: dict[GroupBy, queries.GroupBy] = {  # the stored grain each size is summed from
    "hour": "hour",
    "day": "day",
    "week": "day",
    "month": "month",
    "quarter": "month",
    "year": "month",
}


# NamedTuples: a page of buckets builds a hundred of them, at ~0.3 µs each
# against ~1 µs for a frozen dataclass.


class ZoneUsage(NamedTuple):
    register: int
    zone: str
    wh: int | None


class Bucket(NamedTuple):
    interval_start: datetime
    interval_end: datetime
    zones: tuple[ZoneUsage, ...]

    @property
    def wh(self) -> int | None:
        """All zones together; None when any zone is unknown."""
        total = 0
        for z in self.zones:
            if z.wh is None:
                return None
            total += z.wh
        return total


def zone_registers(registers: Sequence[int], plan: str) -> tuple[int, ...]:
    """The import registers to show, as the reconciler reads them: one per zone
    of the plan when the meter has them, else the total; a meter that fits
    neither shows the zone registers it has."""
    wanted = plan_registers(Plan(plan))
    if set(wanted) <= set(registers):
        return wanted
    if 0 in registers:
        return (0,)
    return tuple(sorted(r for r in registers if 1 <= r <= 4))


def zone_name(names: Mapping[int, str], register: int) -> str:
    return names.get(register) or ("total" if register == 0 else f"T{register}")


def floor(t: datetime, group_by: GroupBy) -> datetime:
    """The start of the Kyiv local bucket that contains ``t``."""
    if group_by == "hour":  # Kyiv offsets are whole hours: UTC hours are local hours
        return t.astimezone(UTC).replace(minute=0, second=0, microsecond=0)
    local = t.astimezone(KYIV).date()
    if group_by == "day":
        day = local
    elif group_by == "week":
        day = local - timedelta(days=local.weekday())
    elif group_by == "month":
        day = local.replace(day=1)
    elif group_by == "quarter":
        day = date(local.year, (local.month - 1) // 3 * 3 + 1, 1)
    else:
        day = date(local.year, 1, 1)
    return _midnight(day)


def following(start: datetime, group_by: GroupBy) -> datetime:
    """The start of the bucket after the one starting at ``start``."""
    if group_by == "hour":
        return start + timedelta(hours=1)
    local = start.astimezone(KYIV).date()
    if group_by == "day":
        return _midnight(local + timedelta(days=1))
    if group_by == "week":
        return _midnight(local + timedelta(days=7))
    months = {"month": 1, "quarter": 3, "year": 12}[group_by]
    index = local.year * 12 + local.month - 1 + months
    return _midnight(date(index // 12, index % 12 + 1, 1))


def ceil(t: datetime, group_by: GroupBy) -> datetime:
    start = floor(t, group_by)
    return start if start == t else following(start, group_by)


def _midnight(day: date) -> datetime:
    return datetime.combine(day, time(0), KYIV)


class Watermarks(NamedTuple):
    """Where the daily and the monthly rollup's materialized rows end (Kyiv
    bucket starts, UTC): every bucket below is materialized and complete.

    Any earlier watermark gives the same figures, only a little slower (the
    buckets from it on are read from raw readings). The portal reads the
    store's with each point (``ingest.portal.accounts.Point``).
    """

    day: datetime
    month: datetime


_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)
NOTHING_MATERIALIZED = Watermarks(_EPOCH, _EPOCH)
"""Watermarks that read every bucket from raw readings: always correct."""


# Every register of one meter in one round trip, with the same arithmetic as
# ingest.queries.consumption: a bucket ends at the next bucket's first read,
# the last one at the first read at or after the range end (else its own last).
#
# Days and months come from the rollups' materialized rows below their
# watermarks (``live``: the daily one; ``month_live``: the monthly one) and,
# from there on, from raw readings as ``live_days`` (register, day, first and
# last read): the rows the views readings_daily and readings_monthly give, but
# with the watermarks as constants, so that TimescaleDB plans only the live
# chunks. Live months are grouped from days, as readings_monthly does.
# ``stop`` is the range end rounded up to a whole bucket.
#
# ``live_days`` is written for each backend, since what is cheap differs:
# - plain PostgreSQL: index probes. Per register, the first read of each live
#   day is one probe, the next day's first read another from the day's end (a
#   recursive walk that skips the day in between), the day's last read one
#   backward probe. Grouping the running day's reads (up to 96 per register)
#   and sorting them for the first and last value cost ~0.17 ms more per call;
# - TimescaleDB: grouping, with first() and last(). Every reference to the
#   hypertable is planned and excluded chunk by chunk, and the three probes
#   made the call ~0.9 ms dearer than one grouped scan.
_NEXT_DAY = "(({day}) AT TIME ZONE 'Europe/Kyiv' + INTERVAL '1 day') AT TIME ZONE 'Europe/Kyiv'"
_LIVE_DAYS: dict[Backend, str] = {
    "postgresql": f"""
live_first(register, bucket, first_wh) AS (
    SELECT g.register, date_trunc('day', f.read_at, 'Europe/Kyiv'), f.value_wh
    FROM unnest(%(registers)s::smallint[]) AS g(register)
    CROSS JOIN LATERAL (
        SELECT read_at, value_wh FROM readings
        WHERE meter_id = %(meter)s AND register = g.register AND source = %(source)s
          AND read_at >= %(live)s AND read_at < %(stop)s
        ORDER BY read_at LIMIT 1) AS f
    UNION ALL
    SELECT l.register, date_trunc('day', f.read_at, 'Europe/Kyiv'), f.value_wh
    FROM live_first AS l
    CROSS JOIN LATERAL (
        SELECT read_at, value_wh FROM readings
        WHERE meter_id = %(meter)s AND register = l.register AND source = %(source)s
          AND read_at >= {_NEXT_DAY.format(day="l.bucket")}
          AND read_at >= %(live)s AND read_at < %(stop)s
        ORDER BY read_at LIMIT 1) AS f
),
live_days AS (
    SELECT l.register, l.bucket, l.first_wh,
           (SELECT value_wh FROM readings
            WHERE meter_id = %(meter)s AND register = l.register AND source = %(source)s
              AND read_at < {_NEXT_DAY.format(day="l.bucket")}
              AND read_at >= %(live)s AND read_at < %(stop)s
            ORDER BY read_at DESC LIMIT 1) AS last_wh
    FROM live_first AS l
)""",
    "timescaledb": """
live_days AS (
    SELECT register, date_trunc('day', read_at, 'Europe/Kyiv') AS bucket,
           first(value_wh, read_at) AS first_wh, last(value_wh, read_at) AS last_wh
    FROM readings
    WHERE meter_id = %(meter)s AND register = ANY(%(registers)s) AND source = %(source)s
      AND read_at >= %(live)s AND read_at < %(stop)s
    GROUP BY 1, 2
)""",
}

_HOURS = """
b AS (
    SELECT register, date_trunc('hour', read_at, 'Europe/Kyiv') AS bucket,
           (array_agg(value_wh ORDER BY read_at))[1] AS first_wh,
           (array_agg(value_wh ORDER BY read_at DESC))[1] AS last_wh
    FROM readings
    WHERE meter_id = %(meter)s AND register = ANY(%(registers)s)
      AND source = %(source)s AND read_at >= %(start)s AND read_at < %(end)s
    GROUP BY 1, 2
)"""
# A register's days from ``lo`` on: materialized below the daily watermark,
# live from there.
_DAY_ROWS = """
    SELECT register, bucket, first_wh, last_wh FROM readings_daily_mat
    WHERE meter_id = %(meter)s AND register = ANY(%(registers)s) AND source = %(source)s
      AND bucket >= %({lo})s AND bucket < %(live)s
    UNION ALL
    SELECT register, bucket, first_wh, last_wh FROM live_days"""
_DAYS = f""",
b AS ({_DAY_ROWS.format(lo="start")}
)"""
_MONTHS = f""",
days AS ({_DAY_ROWS.format(lo="month_live")}
),
b AS (
    SELECT register, bucket, first_wh, last_wh FROM readings_monthly_mat
    WHERE meter_id = %(meter)s AND register = ANY(%(registers)s) AND source = %(source)s
      AND bucket >= %(start)s AND bucket < %(month_live)s
    UNION ALL
    SELECT register, date_trunc('month', bucket, 'Europe/Kyiv'),
           (array_agg(first_wh ORDER BY bucket))[1],
           (array_agg(last_wh ORDER BY bucket DESC))[1]
    FROM days
    GROUP BY 1, 2
)"""
_STEP = {"hour": "1 hour", "day": "1 day", "month": "1 month"}

_AFTER = """
after AS (
    SELECT g.register,
           (SELECT value_wh FROM readings
            WHERE meter_id = %(meter)s AND register = g.register AND source = %(source)s
              AND read_at >= %(end)s
            ORDER BY read_at LIMIT 1) AS after_wh
    FROM unnest(%(registers)s::smallint[]) AS g(register)
)"""
_SPAN = """WITH RECURSIVE {buckets},{after}
SELECT b.register, b.bucket,
       (b.bucket AT TIME ZONE 'Europe/Kyiv' + %(step)s::interval) AT TIME ZONE 'Europe/Kyiv',
       b.first_wh,
       coalesce(lead(b.first_wh) OVER (PARTITION BY b.register ORDER BY b.bucket),
                a.after_wh, b.last_wh)
FROM b JOIN after a ON a.register = b.register
ORDER BY b.register, b.bucket
"""

# TimescaleDB, days and months of a range that ends at a bucket boundary past
# the daily watermark (the usual page: up to now): one scan of the raw reads
# from the watermark on, unbounded, gives both the live days (below ``stop``)
# and each register's first read at or after the end (the first day from
# ``stop`` on). A second reference to the hypertable, for ``after`` alone, cost
# ~0.3 ms more to plan. Reads past ``stop`` are there only while the rollup is
# behind, so the scan reads no more than the live days and that lag.
_TAIL_DAYS = """
tail AS (
    SELECT register, date_trunc('day', read_at, 'Europe/Kyiv') AS bucket,
           first(value_wh, read_at) AS first_wh, last(value_wh, read_at) AS last_wh
    FROM readings
    WHERE meter_id = %(meter)s AND register = ANY(%(registers)s) AND source = %(source)s
      AND read_at >= %(live)s
    GROUP BY 1, 2
),
live_days AS (
    SELECT register, bucket, first_wh, last_wh FROM tail WHERE bucket < %(stop)s
)"""
_TAIL_AFTER = """
after AS (
    SELECT g.register,
           (SELECT t.first_wh FROM tail AS t
            WHERE t.register = g.register AND t.bucket >= %(stop)s
            ORDER BY t.bucket LIMIT 1) AS after_wh
    FROM unnest(%(registers)s::smallint[]) AS g(register)
)"""


def _queries(live_days: str, after: str = _AFTER) -> dict[queries.GroupBy, bytes]:
    return {
        "hour": _SPAN.format(buckets=_HOURS, after=_AFTER).encode(),
        "day": _SPAN.format(buckets=live_days + _DAYS, after=after).encode(),
        "month": _SPAN.format(buckets=live_days + _MONTHS, after=after).encode(),
    }


_QUERIES = {backend: _queries(live_days) for backend, live_days in _LIVE_DAYS.items()}
_TAIL_QUERIES = _queries(_TAIL_DAYS, _TAIL_AFTER)
"""TimescaleDB's days and months when ``_TAIL_DAYS`` applies (not hours)."""

SpanRow = tuple[datetime, datetime, int | None]
"""(interval start, interval end, Wh) of one register's bucket: the
``interval_start``, ``interval_end`` and ``wh`` of ``queries.ConsumptionRow``
(times in UTC)."""


def _between(t: datetime, lo: datetime, hi: datetime) -> datetime:
    return min(max(t, lo), hi)


async def span_consumption(
    conn: Conn,
    *,
    span: MeterSpan,
    registers: Sequence[int],
    start: datetime,
    end: datetime,
    group_by: queries.GroupBy,
    watermarks: Watermarks,
    backend: Backend,
    source: Source = Source.AUTO,
) -> dict[int, list[SpanRow]]:
    """``ingest.queries.consumption`` for several registers of one meter in one
    query (the portal's hot path); the results are the same row for row, for
    ``watermarks`` no later than the store's. ``start`` must be a bucket start.
    Rows are plain tuples and times UTC: a request may handle a few hundred,
    and a dataclass per row, or a comparison across time zones, costs about a
    microsecond each."""
    stop = ceil(end, group_by)
    month_live = _between(watermarks.month, start, stop)
    live = _between(watermarks.day, month_live if group_by == "month" else start, stop)
    tail = backend == "timescaledb" and group_by != "hour" and end == stop and live < stop
    cur = await conn.execute(
        (_TAIL_QUERIES if tail else _QUERIES[backend])[group_by],
        {"meter": span.meter_id, "registers": list(registers), "source": source.db_code,
         "start": start, "end": end, "step": _STEP[group_by], "stop": stop, "live": live,
         "month_live": month_live},
        binary=True,
    )  # fmt: skip
    rollover = 10**span.digits * 1000
    advance = queries.advance_wh
    out: dict[int, list[SpanRow]] = {r: [] for r in registers}
    for register, bucket, bucket_end, first_wh, end_wh in await cur.fetchall():
        wh = advance(first_wh, end_wh, rollover)
        out[register].append((bucket.astimezone(UTC), bucket_end.astimezone(UTC), wh))
    return out


async def point_consumption(
    conn: Conn,
    *,
    stays: Sequence[Mapping[str, Any]],
    plan: str,
    zone_names: Mapping[int, str],
    start: datetime,
    end: datetime,
    group_by: GroupBy,
    watermarks: Watermarks,
    backend: Backend,
    source: Source = Source.AUTO,
) -> list[Bucket]:
    """Buckets (oldest first) whose start lies in ``[start, end)``, both rounded
    out to whole buckets; buckets without reads are absent. Bucket times are
    UTC (``datetime.UTC``): safe to subtract, whatever the DST change between."""
    start, end = floor(start, group_by), ceil(end, group_by)
    lo, hi = start.astimezone(UTC), end.astimezone(UTC)  # compared with the rows' UTC times
    base = BASE[group_by]
    same = base == group_by
    sums: dict[datetime, dict[int, int | None]] = {}
    ends: dict[datetime, datetime] = {}
    for span in meter_spans(stays, start, end):
        registers = zone_registers(span.registers, plan)
        if not registers:
            continue
        by_register = await span_consumption(
            conn, span=span, registers=registers, start=floor(span.since, base),
            end=span.until or end, group_by=base, watermarks=watermarks,
            backend=backend, source=source,
        )  # fmt: skip
        for register, rows in by_register.items():
            for bucket, bucket_end, wh in rows:
                if not same:
                    bucket = floor(bucket, group_by).astimezone(UTC)
                    bucket_end = following(bucket, group_by).astimezone(UTC)
                if not lo <= bucket < hi:
                    continue
                ends[bucket] = bucket_end
                zones = sums.setdefault(bucket, {})
                if register in zones:
                    before = zones[register]
                    zones[register] = None if before is None or wh is None else before + wh
                else:
                    zones[register] = wh
    names = {r: zone_name(zone_names, r) for zones in sums.values() for r in zones}
    return [
        Bucket(
            key, ends[key], tuple(ZoneUsage(r, names[r], wh) for r, wh in sorted(sums[key].items()))
        )
        for key in sorted(sums)
    ]
