"""The analytics test world: the seed around both DST changes of 2026, plus
meters that exercise the edges (rollover, reset, gap, questionable reads,
consumer reads, a meter replaced mid-day)."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta

import psycopg

from ingest.seed import eic_for, seed

SLOT = timedelta(minutes=15)
SPRING_END = datetime(2026, 3, 31, 0, 0, tzinfo=UTC)
"""Seed 1 covers 27–31 March (UTC): 29 March is a 23-hour local day."""
AUTUMN_START = datetime(2026, 10, 24, 0, 0, tzinfo=UTC)
AUTUMN_END = datetime(2026, 10, 28, 0, 0, tzinfo=UTC)
"""Seed 2 and the extra meters cover 24–28 October (UTC): 25 October has 25 hours."""
REPLACED_AT = datetime(2026, 10, 25, 12, 0, tzinfo=UTC)
_now = datetime.now(UTC)
NOW = _now.replace(minute=_now.minute - _now.minute % 15, second=0, microsecond=0)
"""The last 15-minute boundary before the session started."""


@dataclass
class World:
    url: str
    backend: str
    ids: dict[str, int] = field(default_factory=dict)
    """Extra meters by serial."""


def _one(conn: psycopg.Connection, query: str, params: tuple[object, ...]) -> int:
    row = conn.execute(query, params).fetchone()  # type: ignore[call-overload]
    assert row is not None
    return int(row[0])


def add_point(conn: psycopg.Connection, n: int, *, plan: str, region: str, address: str) -> int:
    return _one(
        conn,
        "INSERT INTO metering_points (eic, address, region, permitted_power_kw, tariff_plan)"
        " VALUES (%s, %s, %s, 7, %s) RETURNING id",
        (eic_for(n), address, region, plan),
    )


def add_meter(
    conn: psycopg.Connection,
    serial: str,
    point_id: int,
    *,
    registers: Sequence[int],
    digits: int = 6,
    installed: datetime = datetime(2025, 1, 1, tzinfo=UTC),
    removed: datetime | None = None,
) -> int:
    meter_id = _one(
        conn,
        "INSERT INTO meters (serial, model, digits, zones, registers)"
        " VALUES (%s, 'test', %s, %s, %s) RETURNING id",
        (serial, digits, max(1, len([r for r in registers if 0 < r < 10])), list(registers)),
    )
    conn.execute(
        "INSERT INTO meter_installations (meter_id, point_id, installed_at, removed_at)"
        " VALUES (%s, %s, %s, %s)",
        (meter_id, point_id, installed, removed),
    )
    return meter_id


def add_reads(
    conn: psycopg.Connection,
    meter_id: int,
    register: int,
    rows: Sequence[tuple[datetime, int]],
    *,
    source: int = 1,
    quality: int = 0,
) -> None:
    with conn.cursor().copy(
        "COPY readings (meter_id, register, read_at, source, value_wh, quality, origin) FROM STDIN"
    ) as copy:
        for at, value in rows:
            copy.write_row((meter_id, register, at, source, value, quality, "test"))


def slots(start: datetime, end: datetime) -> list[datetime]:
    """15-minute instants in ``[start, end]``."""
    out, t = [], start
    while t <= end:
        out.append(t)
        t += SLOT
    return out


def build(url: str, backend: str) -> World:
    world = World(url=url, backend=backend)
    seed(url, meters=6, days=4, end=SPRING_END, rng_seed=3)
    seed(url, meters=6, days=4, end=AUTUMN_END, rng_seed=4, first_number=7)
    autumn = slots(AUTUMN_START, AUTUMN_END)
    with psycopg.connect(url) as conn:
        # A 5-digit meter that rolls over 99,999.999 kWh -> 0 on 24 October.
        p = add_point(conn, 901, plan="single", region="Луцьк", address="Луцьк, вул. Нова, 1")
        m = world.ids["RO-1"] = add_meter(conn, "RO-1", p, registers=(0,), digits=5)
        add_reads(conn, m, 0, [(t, (99_990_000 + 300 * i) % 10**8) for i, t in enumerate(autumn)])
        # A meter whose register falls back implausibly (a reset) on 26 October.
        p = add_point(conn, 902, plan="single", region="Ковель", address="Ковель, вул. Нова, 2")
        m = world.ids["RS-1"] = add_meter(conn, "RS-1", p, registers=(0,))
        reset = datetime(2026, 10, 26, 10, 0, tzinfo=UTC)
        add_reads(conn, m, 0, [(t, 5_000_000 + 250 * i if t < reset else 1_000 + 250 * i)
                               for i, t in enumerate(autumn)])  # fmt: skip
        # A two-zone meter silent from 25 October 00:00 to 27 October 00:00 UTC.
        p = add_point(conn, 903, plan="two_zone", region="Луцьк", address="Луцьк, вул. Нова, 3")
        m = world.ids["GAP-1"] = add_meter(conn, "GAP-1", p, registers=(1, 2))
        gap = (datetime(2026, 10, 25, tzinfo=UTC), datetime(2026, 10, 27, tzinfo=UTC))
        kept = [(i, t) for i, t in enumerate(autumn) if not gap[0] <= t < gap[1]]
        add_reads(conn, m, 1, [(t, 2_000_000 + 200 * i) for i, t in kept])
        add_reads(conn, m, 2, [(t, 3_000_000 + 100 * i) for i, t in kept])
        # Questionable reads only, on 26 October (Kyiv local day).
        p = add_point(conn, 904, plan="single", region="Ківерці", address="Ківерці, вул. Нова, 4")
        m = world.ids["Q-1"] = add_meter(conn, "Q-1", p, registers=(0,))
        day26 = (datetime(2026, 10, 25, 22, tzinfo=UTC), datetime(2026, 10, 26, 22, tzinfo=UTC))
        values = [(t, 7_000_000 + 100 * i) for i, t in enumerate(autumn)]
        add_reads(conn, m, 0, [v for v in values if not day26[0] <= v[0] < day26[1]])
        add_reads(conn, m, 0, [v for v in values if day26[0] <= v[0] < day26[1]], quality=10)
        # A meter replaced at noon UTC on 25 October at the same point.
        p = add_point(conn, 905, plan="three_zone", region="Ковель", address="Ковель, вул. Нова, 5")
        old = world.ids["OLD-1"] = add_meter(conn, "OLD-1", p, registers=(1, 2, 3),
                                             removed=REPLACED_AT)  # fmt: skip
        new = world.ids["NEW-1"] = add_meter(conn, "NEW-1", p, registers=(1, 2, 3),
                                             installed=REPLACED_AT)  # fmt: skip
        for register in (1, 2, 3):
            add_reads(
                conn,
                old,
                register,
                [(t, 10_000 * register + 50 * i) for i, t in enumerate(autumn) if t <= REPLACED_AT],
            )
            add_reads(
                conn,
                new,
                register,
                [(t, 20 * register * i) for i, t in enumerate(autumn) if t >= REPLACED_AT],
            )
        # A meter reporting right up to now: running buckets, live rollup rows.
        p = add_point(conn, 906, plan="single", region="Луцьк", address="Луцьк, вул. Нова, 6")
        m = world.ids["NOW-1"] = add_meter(conn, "NOW-1", p, registers=(0,))
        recent = slots(NOW - timedelta(days=3), NOW)
        add_reads(conn, m, 0, [(t, 9_000_000 + 120 * i) for i, t in enumerate(recent)])
        # Consumer reads on a single-zone autumn seed meter (source 2): never in auto figures.
        first = _one(conn, "SELECT id FROM meters WHERE serial = 'SN00000010'", ())
        add_reads(conn, first, 0, [(datetime(2026, 10, 25, 9, tzinfo=UTC), 40_000_000),
                                   (datetime(2026, 10, 27, 9, tzinfo=UTC), 40_020_000)],
                  source=2)  # fmt: skip
    return world
