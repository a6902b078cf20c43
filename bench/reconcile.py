"""Reconciler benchmark: close one month for 400,000 metering points.

Seeds (set-based SQL, not timed) a population of single (50 %), two-zone (35 %)
and three-zone (15 %) points; 70 % automatic (a register read every day just
after local midnight, each point at its own minute, so every cut-off value is
interpolated), 30 % consumer + controller (consumer readings in both submission
windows, a controller reading on the 20th), with the usual troubles mixed in:
automatic points whose reads stop before the cut-off, consumers who send
nothing (the controller reading is carried), consumers who disagree with the
controller (divergence flags), points with no reading at all. Automatic reads
are inserted day by day (all points' reads of a day, then the next day's), as
they arrive in production, so one point's month is spread over the table. Then times
``close_period`` — a full reconcile of every point and the close — and prints
one JSON line. The month is October 2026 (with its 25-hour day).

Server: METERGATE_DATABASE_URL when set, else the machine's PostgreSQL at
127.0.0.1:5432, else the embedded one. A scratch database is created and dropped.
BENCH_POINTS overrides the number of points.
"""

from __future__ import annotations

import json
import os
import resource
import sys
import time
import uuid
from datetime import date, timedelta
from pathlib import Path

import psycopg
from psycopg import sql

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from bench.servers import server_url
from ingest.migrate import migrate, status
from ingest.reconcile import bounds, close_period
from ingest.reconcile.policy import Policy
from ingest.seed import eic_for

POINTS = int(os.environ.get("BENCH_POINTS", "400000"))
PERIOD = date(2026, 10, 1)
TARGET_S = 60.0

# plan by n % 20: 0-9 single, 10-16 two-zone, 17-19 three-zone; n % 10 < 7: automatic.
_PLAN = "CASE WHEN n % 20 < 10 THEN 'single' WHEN n % 20 < 17 THEN 'two_zone' ELSE 'three_zone' END"
_REGISTERS = (
    "CASE WHEN n % 20 < 10 THEN '{0}'::smallint[] WHEN n % 20 < 17 THEN '{1,2}'::smallint[]"
    " ELSE '{1,2,3}'::smallint[] END"
)
# Daily energy of a point and each register's share of it (per mille).
_SHARE = """CASE WHEN n % 20 < 10 THEN 1000
                 WHEN n % 20 < 17 THEN CASE reg WHEN 1 THEN 667 ELSE 333 END
                 ELSE CASE reg WHEN 1 THEN 200 WHEN 2 THEN 450 ELSE 350 END END"""
_POPULATION = f"""
CREATE TEMP TABLE bench AS
SELECT n, reg, (3000 + (n % 50) * 200) * ({_SHARE}) / 1000 AS daily_wh,
       1000000 + (n % 997) * 10000 AS base_wh
FROM generate_series(1, {{points}}) AS n, unnest({_REGISTERS}) AS reg
"""
_AUTO = """
INSERT INTO readings (meter_id, register, read_at, source, value_wh, quality, origin)
SELECT n, reg,
       ((date '2026-09-29' + k) + make_interval(mins => n % 60)) AT TIME ZONE 'Europe/Kyiv',
       1, base_wh + k * daily_wh, 0, 'bench'
FROM bench, generate_series(0, 35) AS k
WHERE n % 10 < 7 AND NOT (n % 50 = 1 AND k >= 31)
ORDER BY k, n, reg
"""
# Consumer readings on 30 Sep and 2 Nov at 10:00, a controller reading on 20 Oct
# at 12:00, whole kWh. n % 30 = 7: no closing consumer reading; n % 30 = 8: the
# consumer's closing is 80 kWh high; n % 100 = 9: nothing at all.
_MANUAL = """
INSERT INTO readings (meter_id, register, read_at, source, value_wh, quality, origin)
SELECT n, reg, at AT TIME ZONE 'Europe/Kyiv', source,
       (base_wh + (extract(epoch FROM at - timestamp '2026-09-29') / 86400 * daily_wh)::bigint)
         / 1000 * 1000 + CASE WHEN n % 30 = 8 AND source = 2 AND at > '2026-10-15'
                              THEN 80000 ELSE 0 END,
       0, 'bench'
FROM bench,
     (VALUES (timestamp '2026-09-30 10:00', 2), (timestamp '2026-10-20 12:00', 3),
             (timestamp '2026-11-02 10:00', 2)) AS m(at, source)
WHERE n % 10 >= 7 AND n % 100 <> 9 AND NOT (n % 30 = 7 AND at > '2026-11-01')
"""


def seed(url: str) -> int:
    """The population and its readings; returns the number of readings."""
    with psycopg.connect(url) as conn:
        with (
            conn.cursor() as cur,
            cur.copy(
                "COPY metering_points (eic, address, permitted_power_kw, tariff_plan) FROM STDIN"
            ) as copy,
        ):
            for n in range(1, POINTS + 1):
                plan = "single" if n % 20 < 10 else "two_zone" if n % 20 < 17 else "three_zone"
                copy.write_row((eic_for(n), "bench", 5 + (n % 4) * 2, plan))
        conn.execute(
            f"""INSERT INTO meters (serial, model, digits, zones, registers)
                SELECT 'B' || lpad(n::text, 8, '0'), 'bench', 6,
                       cardinality({_REGISTERS}), {_REGISTERS}
                FROM generate_series(1, {POINTS}) AS n""".encode()
        )
        conn.execute(
            "INSERT INTO meter_installations (meter_id, point_id, installed_at)"
            f" SELECT n, n, '2020-01-01' FROM generate_series(1, {POINTS}) AS n".encode()
        )
        conn.execute(_POPULATION.replace("{points}", str(POINTS)).encode())
        conn.execute(_AUTO.encode())
        conn.execute(_MANUAL.encode())
        row = conn.execute("SELECT count(*) FROM readings").fetchone()
    with psycopg.connect(url, autocommit=True) as conn:
        conn.execute("VACUUM ANALYZE")
    assert row is not None
    return int(row[0])


def _cpu_s() -> float:
    """CPU seconds of this process and its finished children (the workers)."""
    own = resource.getrusage(resource.RUSAGE_SELF)
    children = resource.getrusage(resource.RUSAGE_CHILDREN)
    return own.ru_utime + own.ru_stime + children.ru_utime + children.ru_stime


def main() -> None:
    server = server_url()
    name = f"mg_bench_reconcile_{os.getpid()}_{uuid.uuid4().hex[:6]}"
    with psycopg.connect(server, autocommit=True) as conn:
        conn.execute(sql.SQL("CREATE DATABASE {}").format(sql.Identifier(name)))
    url = psycopg.conninfo.make_conninfo(server, dbname=name)
    try:
        migrate(url)
        backend = status(url).backend
        started = time.perf_counter()
        readings = seed(url)
        seed_s = time.perf_counter() - started
        now = bounds(PERIOD, Policy()).closing.window_end + timedelta(days=1)
        started = time.perf_counter()
        cpu = _cpu_s()
        summary = close_period(url, PERIOD, actor="bench", now=now)
        seconds = time.perf_counter() - started
        cpu = _cpu_s() - cpu
        with psycopg.connect(url) as conn:
            statuses = dict(
                conn.execute("SELECT status, count(*) FROM period_reads GROUP BY status").fetchall()
            )
        print(json.dumps({
            "bench": "reconcile",
            "points": summary.points,
            "seconds": round(seconds, 1),
            "points_per_s": round(summary.points / seconds),
            "backend": backend,
            "results": summary.results,
            "versions": summary.versions,
            "flags": summary.flags,
            "statuses": statuses,
            "readings": readings,
            "python_cpu_s": round(cpu, 1),
            "seed_seconds": round(seed_s, 1),
            "target_s": TARGET_S,
        }))  # fmt: skip
    finally:
        with psycopg.connect(server, autocommit=True) as conn:
            conn.execute(
                sql.SQL("DROP DATABASE IF EXISTS {} WITH (FORCE)").format(sql.Identifier(name))
            )


if __name__ == "__main__":
    main()
