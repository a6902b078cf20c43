"""Plain functions that put domain rows into a test database."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import UTC, datetime, timedelta

import psycopg

from drivers.domain import Reading, Source

T0 = datetime(2026, 1, 1, tzinfo=UTC)


def add_meter(
    url: str, serial: str, *, digits: int = 6, registers: Sequence[int] = (0, 1, 2)
) -> int:
    """Insert a meter; return its id."""
    with psycopg.connect(url) as conn:
        row = conn.execute(
            "INSERT INTO meters (serial, model, digits, zones, registers)"
            " VALUES (%s, 'test', %s, %s, %s) RETURNING id",
            (serial, digits, max(1, len([r for r in registers if 0 < r < 10])), list(registers)),
        ).fetchone()
    assert row is not None
    return int(row[0])


def series(
    meter: str,
    *,
    register: int = 0,
    start: datetime = T0,
    step: timedelta = timedelta(minutes=15),
    count: int = 96,
    first_wh: int = 1_000_000,
    per_step_wh: int = 100,
    source: Source = Source.AUTO,
) -> list[Reading]:
    """A regular series of readings rising by ``per_step_wh`` per step."""
    return [
        Reading(
            meter=meter,
            register=register,
            read_at=start + step * i,
            value_wh=first_wh + per_step_wh * i,
            source=source,
            origin=f"test:{meter}",
        )
        for i in range(count)
    ]


def count_readings(url: str) -> int:
    with psycopg.connect(url) as conn:
        row = conn.execute("SELECT count(*) FROM readings").fetchone()
    assert row is not None
    return int(row[0])
