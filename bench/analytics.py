"""Analytics benchmark: fleet-wide analyst queries on the rollups and on raw readings.

Seeds 2,000 meters × 90 days of 15-minute reads (``ingest.seed``: single,
two- and three-zone plans, so ~1.6 registers a meter, ~27.6 M rows), refreshes
the rollups the way the gateway does (and on TimescaleDB compresses the chunks
older than 7 days, as the columnstore policy would), then times three queries:

* ``monthly_by_zone``: consumption per month and tariff zone for the whole fleet
  (the months that start inside the quarter, the running one included);
* ``daily_completeness``: share of meters reporting per local day and region
  over the quarter;
* ``top_100``: the 100 largest consumers over the quarter's whole days.

Each runs ``BENCH_ANALYTICS_RUNS`` times on the rollups (p50/p99) and, in the same
run, ``BENCH_ANALYTICS_RAW_RUNS`` times computed from raw ``readings`` (the
same queries with ``rollups=False``; the first run of each also checks that
both give identical rows); runs are interleaved so the machine's noise falls
on both. Prints one JSON line: per query the table that answered, p50/p99 in
ms, raw/rollup ratio and p99 over the 500 ms ceiling; and the Grafana
dashboard's two rollup panels (docs/grafana-dashboard.json, whose SQL reads the
``readings_daily`` view itself) over the same quarter.

Server: METERGATE_DATABASE_URL when set, else the machine's PostgreSQL at
127.0.0.1:5432, else the embedded one. A scratch database is created and dropped.
Sizes: BENCH_ANALYTICS_METERS (2000) and BENCH_ANALYTICS_DAYS (90).
"""

from __future__ import annotations

import json
import os
import sys
import time
import uuid
from collections.abc import Callable
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

import numpy as np
import psycopg
from psycopg import sql

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from bench.servers import server_url
from drivers.domain import KYIV
from ingest import analytics, rollups
from ingest.analytics.buckets import ceil, floor
from ingest.migrate import Backend, migrate, status
from ingest.seed import seed

METERS = int(os.environ.get("BENCH_ANALYTICS_METERS", "2000"))
DAYS = int(os.environ.get("BENCH_ANALYTICS_DAYS", "90"))
RUNS = int(os.environ.get("BENCH_ANALYTICS_RUNS", "20"))
RAW_RUNS = int(os.environ.get("BENCH_ANALYTICS_RAW_RUNS", "3"))
CEILING_MS = 500.0

Build = Callable[[bool], analytics.Query]


def prepare(url: str) -> tuple[Backend, dict[str, object]]:
    """Migrate, seed, refresh the rollups (and compress on TimescaleDB); return figures."""
    migrate(url)
    backend = status(url).backend
    t = time.perf_counter()
    result = seed(url, meters=METERS, days=DAYS)
    seeded_s = time.perf_counter() - t
    t = time.perf_counter()
    rollups.refresh(url, backend)
    refresh_s = time.perf_counter() - t
    compress_s = 0.0
    with psycopg.connect(url, autocommit=True) as conn:
        if backend == "timescaledb":
            t = time.perf_counter()
            conn.execute(
                "SELECT compress_chunk(c, if_not_compressed => true)"
                " FROM show_chunks('readings', older_than => now() - INTERVAL '7 days') c"
            )
            compress_s = time.perf_counter() - t
        conn.execute("VACUUM ANALYZE")
    return backend, {
        "readings": result.readings,
        "first_read": result.start.isoformat(),
        "last_read": result.end.isoformat(),
        "seed_s": round(seeded_s, 1),
        "refresh_s": round(refresh_s, 1),
        "compress_s": round(compress_s, 1),
    }


def queries(backend: Backend, start: datetime, end: datetime) -> dict[str, Build]:
    """The benchmark's queries over whole local days ``[start, end)``; the monthly
    one over the months that start inside it (the seed's first, partial month
    has two days of reads; each meter would cost an extra index probe there)."""
    fleet = analytics.Selection()
    first_month = ceil(start, "month") if ceil(start, "month") < end else floor(start, "month")
    months = analytics.Period.covering(first_month, end, "month")
    return {
        "monthly_by_zone": lambda rollups: analytics.aggregates(
            fleet, months, backend, by=("zone",), rollups=rollups
        ),
        "daily_completeness": lambda rollups: analytics.completeness(
            fleet, start, end, backend, by=("day", "region"), rollups=rollups
        ),
        "top_100": lambda rollups: analytics.top_consumers(
            fleet, start, end, backend, n=100, rollups=rollups
        ),
    }


def timed(conn: psycopg.Connection, query: analytics.Query) -> tuple[float, list[tuple[Any, ...]]]:
    t = time.perf_counter()
    rows = analytics.fetch_sync(conn, query)
    return (time.perf_counter() - t) * 1000, rows


def measure(url: str, builds: dict[str, Build]) -> dict[str, dict[str, object]]:
    samples: dict[tuple[str, bool], list[float]] = {}
    counts: dict[str, tuple[int, bool]] = {}
    with psycopg.connect(url, autocommit=True) as conn:
        for name, build in builds.items():  # warm the caches; check raw gives the same rows
            with_rollups, raw = timed(conn, build(True))[1], timed(conn, build(False))[1]
            counts[name] = (len(with_rollups), with_rollups == raw)
        for i in range(max(RUNS, RAW_RUNS)):
            for name, build in builds.items():
                if i < RUNS:
                    samples.setdefault((name, True), []).append(timed(conn, build(True))[0])
                if i < RAW_RUNS:
                    samples.setdefault((name, False), []).append(timed(conn, build(False))[0])
    out: dict[str, dict[str, object]] = {}
    for name, build in builds.items():
        fast, slow = samples[(name, True)], samples[(name, False)]
        p99 = float(np.percentile(fast, 99))
        out[name] = {
            "table": build(True).table,
            "rows": counts[name][0],
            "raw_rows_identical": counts[name][1],
            "rollup_p50_ms": round(float(np.percentile(fast, 50)), 1),
            "rollup_p99_ms": round(p99, 1),
            "raw_p50_ms": round(float(np.percentile(slow, 50)), 1),
            "raw_p99_ms": round(float(np.percentile(slow, 99)), 1),
            "raw_over_rollup_p50": round(float(np.median(slow) / np.median(fast)), 1),
            "p99_over_ceiling": round(p99 / CEILING_MS, 3),
        }
    return out


DASHBOARD = Path(__file__).resolve().parents[1] / "docs" / "grafana-dashboard.json"
PANEL_RUNS = 5


def panels(url: str, start: datetime, end: datetime) -> dict[str, dict[str, object]]:
    """The Grafana dashboard's rollup panels (their SQL reads the ``readings_daily``
    view directly), with the time range macros filled in: p50/p99 ms."""
    dashboard = json.loads(DASHBOARD.read_text(encoding="utf-8"))
    macros = {"$__timeFrom()": f"'{start.isoformat()}'", "$__timeTo()": f"'{end.isoformat()}'"}
    out: dict[str, dict[str, object]] = {}
    with psycopg.connect(url, autocommit=True) as conn:
        for panel in dashboard["panels"]:
            for target in panel.get("targets", []):
                text = target.get("rawSql", "")
                if "readings_daily" not in text:
                    continue
                for macro, value in macros.items():
                    text = text.replace(macro, value)
                conn.execute(text).fetchall()  # warm
                times = []
                for _ in range(PANEL_RUNS):
                    t = time.perf_counter()
                    conn.execute(text).fetchall()
                    times.append((time.perf_counter() - t) * 1000)
                out[panel["title"]] = {
                    "p50_ms": round(float(np.percentile(times, 50)), 1),
                    "p99_ms": round(float(np.percentile(times, 99)), 1),
                }
    return out


def main() -> None:
    server = server_url()
    name = f"mg_bench_analytics_{os.getpid()}_{uuid.uuid4().hex[:6]}"
    with psycopg.connect(server, autocommit=True) as conn:
        conn.execute(sql.SQL("CREATE DATABASE {}").format(sql.Identifier(name)))
    url = psycopg.conninfo.make_conninfo(server, dbname=name)
    try:
        backend, figures = prepare(url)
        first = datetime.fromisoformat(str(figures["first_read"]))
        last = datetime.fromisoformat(str(figures["last_read"]))
        # Whole local days with reads: the quarter the queries look at.
        start = floor(first + timedelta(days=1), "day")
        end = floor(last, "day")
        results = measure(url, queries(backend, start, end))
        grafana = panels(url, start, end)
        print(json.dumps({
            "bench": "analytics",
            "backend": backend,
            "meters": METERS,
            "days": DAYS,
            **figures,
            "period": [start.astimezone(KYIV).date().isoformat(),
                       end.astimezone(KYIV).date().isoformat()],
            "runs": RUNS,
            "raw_runs": RAW_RUNS,
            "ceiling_ms": CEILING_MS,
            "queries": results,
            "grafana_rollup_panels": grafana,
            "all_under_ceiling": all(
                float(str(q["rollup_p99_ms"])) < CEILING_MS for q in results.values()
            ),
        }, ensure_ascii=False))  # fmt: skip
    finally:
        with psycopg.connect(server, autocommit=True) as conn:
            conn.execute(
                sql.SQL("DROP DATABASE IF EXISTS {} WITH (FORCE)").format(sql.Identifier(name))
            )


if __name__ == "__main__":
    main()
