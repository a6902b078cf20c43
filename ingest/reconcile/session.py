"""The reconciler's database session: one run at a time, tuned for bulk work."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from datetime import datetime

import psycopg
from psycopg.rows import TupleRow

from ingest.reconcile.errors import UnknownPoint

LOCK_KEY = 0x72636E63  # "rcnc": one reconciler run at a time


def tune(conn: psycopg.Connection[TupleRow]) -> None:
    """Session settings for the reconciler's set-based queries."""
    conn.execute("SET work_mem = '64MB'")
    # JIT-compiling these plans (costed high for their many index probes) took
    # longer than running them: about 2 s per batch of 20,000 points.
    conn.execute("SET jit = off")
    # TimescaleDB: the gather probes each register's reads by index, once per
    # row. Its ChunkAppend node re-initializes every chunk it may visit at each
    # probe (0.04-0.4 ms against 0.004 ms for a plain append of the chunks left
    # after planning): a 400,000-point close took 184 s instead of ~30.
    conn.execute(
        "SELECT set_config('timescaledb.enable_chunk_append', 'off', false)"
        " WHERE current_setting('timescaledb.enable_chunk_append', true) IS NOT NULL"
    )


@contextmanager
def locked(conninfo: str) -> Iterator[psycopg.Connection[TupleRow]]:
    """An autocommit connection holding the reconciler's advisory lock: a
    scheduled run and a manual one never overlap (the second waits)."""
    with psycopg.connect(conninfo, autocommit=True) as conn:
        conn.execute("SELECT pg_advisory_lock(%s)", (LOCK_KEY,))
        try:
            tune(conn)
            yield conn
        finally:
            if not conn.closed:
                conn.execute("SELECT pg_advisory_unlock(%s)", (LOCK_KEY,))


def db_now(conn: psycopg.Connection[TupleRow]) -> datetime:
    row = conn.execute("SELECT now()").fetchone()
    assert row is not None
    value: datetime = row[0]
    return value


def point_id(conn: psycopg.Connection[TupleRow], eic: str) -> int:
    row = conn.execute("SELECT id FROM metering_points WHERE eic = %s", (eic,)).fetchone()
    if row is None:
        raise UnknownPoint(f"no metering point {eic}")
    return int(row[0])
