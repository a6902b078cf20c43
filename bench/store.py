"""Store benchmark: the batch writer against a bare binary COPY of the same rows.

1,000,000 readings (1,000 meters × 3 registers, 15-minute slots, arriving in time
order) in batches of 5,000. Writer batches and bare-COPY batches alternate, so
the machine's noise falls on both alike; the bare COPY goes into an identical
table (a hypertable too on TimescaleDB). Prints one JSON line.

Server: METERGATE_DATABASE_URL when set, else the machine's PostgreSQL at
127.0.0.1:5432, else the embedded one. A scratch database is created and dropped.
"""

from __future__ import annotations

import asyncio
import json
import os
import sys
import time
import uuid
from datetime import UTC, datetime, timedelta
from pathlib import Path

import psycopg
from psycopg import sql

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from bench.servers import server_url
from drivers.domain import Reading
from ingest.migrate import migrate, status
from ingest.store import open_store
from ingest.writer import copy_rows

ROWS = int(os.environ.get("BENCH_STORE_ROWS", "1000000"))
BATCH = 5_000
METERS = 1_000
REGISTERS = (0, 1, 2)
TARGET_RATIO = 0.8


def make_readings() -> list[Reading]:
    t0 = datetime(2026, 1, 1, tzinfo=UTC)
    out: list[Reading] = []
    slot = 0
    while len(out) < ROWS:
        at = t0 + timedelta(minutes=15 * slot)
        for m in range(METERS):
            for r in REGISTERS:
                out.append(
                    Reading(
                        meter=f"B{m:05d}",
                        register=r,
                        read_at=at,
                        value_wh=10_000_000 + slot * 50 + r,
                        origin=f"mqtt:meters/B{m:05d}",
                    )
                )
        slot += 1
    return out[:ROWS]


def prepare(url: str) -> str:
    migrate(url)
    backend = status(url).backend
    with psycopg.connect(url) as conn:
        conn.execute(
            "INSERT INTO meters (serial, model, digits, zones, registers)"
            " SELECT 'B' || lpad(g::text, 5, '0'), 'bench', 7, 2, '{0,1,2}'"
            " FROM generate_series(0, %s) AS g",
            (METERS - 1,),
        )
        conn.execute("CREATE TABLE readings_copy (LIKE readings INCLUDING ALL)")
        if backend == "timescaledb":
            conn.execute(
                "SELECT create_hypertable('readings_copy', by_range('read_at', INTERVAL '1 day'))"
            )
    return backend


async def run(url: str, backend: str) -> dict[str, object]:
    readings = make_readings()
    batches = [readings[i : i + BATCH] for i in range(0, len(readings), BATCH)]
    writer_s = copy_s = 0.0
    inserted = 0
    async with open_store(url, max_size=2) as store:
        ids = {}
        async with store.pool.connection() as conn:
            cur = await conn.execute("SELECT serial, id FROM meters")
            ids = dict(await cur.fetchall())
        tuples = [
            [(ids[r.meter], r.register, r.read_at, 1, r.value_wh, 0, r.origin) for r in b]
            for b in batches
        ]
        await store.writer.write(batches[0][:1])  # warm the meter catalog outside the timing
        async with store.pool.connection() as conn:
            await conn.execute("TRUNCATE readings, rollup_invalidations")
            await conn.commit()
        for batch, rows in zip(batches, tuples, strict=True):
            t = time.perf_counter()
            result = await store.writer.write(batch)
            writer_s += time.perf_counter() - t
            inserted += result.inserted
            t = time.perf_counter()
            async with store.pool.connection() as conn, conn.transaction(), conn.cursor() as cur:
                await copy_rows(cur, "readings_copy", rows)
            copy_s += time.perf_counter() - t
    return {"writer_s": writer_s, "copy_s": copy_s, "inserted": inserted}


def bytes_per_row(url: str, backend: str) -> float:
    with psycopg.connect(url, autocommit=True) as conn:
        if backend == "timescaledb":
            conn.execute(
                "SELECT compress_chunk(c, if_not_compressed => true) FROM show_chunks('readings') c"
            )
            size = conn.execute("SELECT hypertable_size('readings')").fetchone()
        else:
            conn.execute("VACUUM ANALYZE readings")
            size = conn.execute("SELECT pg_total_relation_size('readings')").fetchone()
        count = conn.execute("SELECT count(*) FROM readings").fetchone()
    assert size is not None
    assert count is not None
    return round(size[0] / count[0], 1)


def main() -> None:
    server = server_url()
    name = f"mg_bench_store_{os.getpid()}_{uuid.uuid4().hex[:6]}"
    with psycopg.connect(server, autocommit=True) as conn:
        conn.execute(sql.SQL("CREATE DATABASE {}").format(sql.Identifier(name)))
    url = psycopg.conninfo.make_conninfo(server, dbname=name)
    try:
        backend = prepare(url)
        figures = asyncio.run(run(url, backend))
        assert figures["inserted"] == ROWS, figures
        writer_rps = ROWS / float(figures["writer_s"])  # type: ignore[arg-type]
        copy_rps = ROWS / float(figures["copy_s"])  # type: ignore[arg-type]
        ratio = writer_rps / copy_rps
        print(json.dumps({
            "bench": "store",
            "backend": backend,
            "rows": ROWS,
            "batch": BATCH,
            "writer_rows_per_s": round(writer_rps),
            "copy_rows_per_s": round(copy_rps),
            "ratio": round(ratio, 3),
            "ratio_to_target": round(ratio / TARGET_RATIO, 3),
            "bytes_per_row": bytes_per_row(url, backend),
        }))  # fmt: skip
    finally:
        with psycopg.connect(server, autocommit=True) as conn:
            conn.execute(
                sql.SQL("DROP DATABASE IF EXISTS {} WITH (FORCE)").format(sql.Identifier(name))
            )


if __name__ == "__main__":
    main()
