"""Portal API benchmark: concurrent clients against ``metergate api`` (uvicorn).

A store of BENCH_API_METERS meters with BENCH_API_DAYS days of 15-minute reads
(``ingest.seed``: accounts, points, meters on the 50/40/10 single/two/three-zone
mix, reads loaded with COPY, rollups refreshed), one consumer login per account
(bearer sessions), then BENCH_API_CLIENTS clients with keep-alive connections
hammer one endpoint at a time for BENCH_API_SECONDS each:

- ``consumption_day``: the last 31 days by day (P8/P12);
- ``consumption_month``: the last 12 months by month;
- ``history``: the newest page (100) of the readings history (P14);
- ``yearly``: this year's month-by-month summary with chart data (P9).

Prints one JSON line: requests/s, p50 and p99 latency per endpoint, and CPU ms per
request of the API processes, the database backends and this client. Target: p99
under 50 ms. Small by default so that a run takes a few minutes; the issue's
size is BENCH_API_METERS=560 BENCH_API_DAYS=366 (~31 million rows).

Server: METERGATE_DATABASE_URL when set, else the machine's PostgreSQL at
127.0.0.1:5432, else the embedded one. The scratch database is named after its
size (``mg_bench_api_<meters>x<days>``) and kept, so that a second run skips
the seeding; BENCH_API_FRESH=1 seeds again. BENCH_API_WORKERS sets the uvicorn
worker processes (default: the CPU count); BENCH_API_ACCESS_LOG=0 serves
with ``--no-access-log`` (the log goes to /dev/null either way).
"""

from __future__ import annotations

import asyncio
import contextlib
import gc
import json
import os
import random
import signal
import socket
import statistics
import subprocess
import sys
import time
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path
from urllib.parse import urlencode

import httpx
import psycopg
from psycopg import sql

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from bench.servers import server_url
from ingest import rollups
from ingest.errors import MigrationError
from ingest.migrate import migrate, status
from ingest.seed import seed
from portal_api.security.tokens import new_token, token_hash

METERS = int(os.environ.get("BENCH_API_METERS", "60"))
DAYS = int(os.environ.get("BENCH_API_DAYS", "90"))
CLIENTS = int(os.environ.get("BENCH_API_CLIENTS", "32"))
SECONDS = float(os.environ.get("BENCH_API_SECONDS", "8"))
WORKERS = int(os.environ.get("BENCH_API_WORKERS", str(os.cpu_count() or 1)))
FRESH = os.environ.get("BENCH_API_FRESH") == "1"
ACCESS_LOG = os.environ.get("BENCH_API_ACCESS_LOG", "1") != "0"
WARM_UP_S = 2.0
"""Before each endpoint's window: enough for the API's pools to reach their
size and for every connection to prepare the endpoint's statements (after one
second, the first endpoint's window still began with ~40 slow requests)."""
TARGET_P99_MS = 50.0


def scratch_database(server: str) -> tuple[str, bool]:
    """The benchmark's database URL and whether it must be seeded. A database
    kept from an earlier run is reused unless BENCH_API_FRESH=1 or a migration
    changed since (then it is made again)."""
    name = f"mg_bench_api_{METERS}x{DAYS}"
    url = psycopg.conninfo.make_conninfo(server, dbname=name)
    with psycopg.connect(server, autocommit=True) as conn:
        kept = conn.execute("SELECT 1 FROM pg_database WHERE datname = %s", (name,)).fetchone()
    reuse = kept is not None and not FRESH
    if reuse:
        try:
            migrate(url)
        except MigrationError:
            reuse = False
    if not reuse:
        with psycopg.connect(server, autocommit=True) as conn:
            ident = sql.Identifier(name)
            conn.execute(sql.SQL("DROP DATABASE IF EXISTS {} WITH (FORCE)").format(ident))
            conn.execute(sql.SQL("CREATE DATABASE {}").format(ident))
        migrate(url)
    with psycopg.connect(url) as conn:
        row = conn.execute("SELECT count(*) FROM meters").fetchone()
    return url, not row or row[0] == 0


def load(url: str) -> tuple[int, float]:
    """Seed the store (COPY) and fold the reads into the rollups; (rows, seconds)."""
    started = time.perf_counter()
    result = seed(url, meters=METERS, days=DAYS)
    rollups.refresh(url, status(url).backend)
    with psycopg.connect(url, autocommit=True) as conn:
        conn.execute("VACUUM ANALYZE")
    return result.readings, time.perf_counter() - started


def logins(url: str) -> list[tuple[str, str]]:
    """One consumer per account with a bearer session: (token, account number)."""
    with psycopg.connect(url) as conn:
        conn.execute("DELETE FROM sessions")
        accounts = conn.execute("SELECT id, number FROM accounts ORDER BY id").fetchall()
        out = []
        for account_id, number in accounts:
            row = conn.execute(
                "INSERT INTO users (email, role, confirmed_at, terms_accepted_at, data_consent_at)"
                " VALUES (%s, 'consumer', now(), now(), now())"
                " ON CONFLICT (lower(email)) DO UPDATE SET role = 'consumer' RETURNING id",
                (f"bench{number}@example.com",),
            ).fetchone()
            assert row is not None
            conn.execute(
                "INSERT INTO user_accounts (user_id, account_id, active) VALUES (%s, %s, true)"
                " ON CONFLICT DO NOTHING",
                (row[0], account_id),
            )
            token = new_token()
            conn.execute(
                "INSERT INTO sessions (token_hash, user_id, kind, expires_at)"
                " VALUES (%s, %s, 'bearer', now() + interval '1 day')",
                (token_hash(token), row[0]),
            )
            out.append((token, number))
    return out


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port: int = s.getsockname()[1]
        return port


def start_api(url: str, port: int) -> subprocess.Popen[bytes]:
    env = {
        **os.environ,
        "METERGATE_DATABASE_URL": url,
        "METERGATE_POOL_MIN_SIZE": "4",
        "METERGATE_POOL_MAX_SIZE": str(max(8, CLIENTS // max(WORKERS, 1) + 4)),
    }
    command = [sys.executable, "-m", "gateway.cli", "api", "--port", str(port)]
    command += ["--workers", str(WORKERS)]
    command += [] if ACCESS_LOG else ["--no-access-log"]
    process = subprocess.Popen(command, env=env, stdout=subprocess.DEVNULL)
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        try:
            if httpx.get(f"http://127.0.0.1:{port}/api/v1/services", timeout=1).status_code == 200:
                return process
        except httpx.TransportError:
            time.sleep(0.2)
    process.kill()
    raise SystemExit("the API did not start")


def endpoints(year: int) -> dict[str, tuple[str, dict[str, str]]]:
    return {
        "consumption_day": ("consumption", {"group_by": "day"}),
        "consumption_month": ("consumption", {"group_by": "month"}),
        "history": ("history/readings", {"page_size": "100"}),
        "yearly": ("consumption/yearly", {"year": str(year)}),
    }


_TICK_MS = 1000 / os.sysconf("SC_CLK_TCK") if hasattr(os, "sysconf") else 10.0


def _stat(pid: int | str) -> list[str] | None:
    """The fields of /proc/<pid>/stat after the command name; None if unreadable."""
    try:
        with open(f"/proc/{pid}/stat") as f:
            return f.read().rsplit(")", 1)[1].split()
    except (OSError, IndexError):
        return None


def _cpu_ms(pid: int) -> float | None:
    """User + system CPU of a process so far (Linux /proc); None if unreadable."""
    fields = _stat(pid)
    return None if fields is None else (int(fields[11]) + int(fields[12])) * _TICK_MS


def _parent(pid: str) -> int | None:
    fields = _stat(pid)
    return None if fields is None else int(fields[1])


Sample = dict[str, dict[int, float]]


class CpuMeter:
    """CPU milliseconds per request spent by the API's processes, by the
    database backends of the benchmark's database (the pools grow under load:
    a backend born inside the window counts whole) and by this load generator:
    steadier than requests/s on a shared machine. None where /proc cannot tell
    (not Linux, or a database on another host)."""

    def __init__(self, api_pid: int, url: str) -> None:
        self.api_pid, self.url = api_pid, url

    def read(self) -> Sample:
        api = [self.api_pid]
        if os.path.isdir("/proc"):
            api += [
                int(e) for e in os.listdir("/proc") if e.isdigit() and _parent(e) == self.api_pid
            ]
        with psycopg.connect(self.url, autocommit=True) as conn:
            rows = conn.execute(
                "SELECT pid FROM pg_stat_activity"
                " WHERE datname = current_database() AND pid <> pg_backend_pid()"
            ).fetchall()
        sample: Sample = {"api": {}, "db": {}}
        for kind, pids in (("api", api), ("db", [int(r[0]) for r in rows])):
            for pid in pids:
                if (ms := _cpu_ms(pid)) is not None:
                    sample[kind][pid] = ms
        sample["client"] = {0: time.process_time() * 1000}
        return sample

    @staticmethod
    def per_request(before: Sample, after: Sample, requests: int) -> dict[str, float | None]:
        out: dict[str, float | None] = {}
        for kind in ("api", "db", "client"):
            spent = sum(ms - before[kind].get(pid, 0.0) for pid, ms in after[kind].items())
            out[f"{kind}_cpu_ms"] = round(spent / max(requests, 1), 3) if after[kind] else None
        return out


class Client:
    """A minimal HTTP/1.1 keep-alive client (one connection): the load generator
    shares the machine with the server, so it should cost little CPU."""

    def __init__(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        self.reader, self.writer = reader, writer

    @classmethod
    async def connect(cls, port: int) -> Client:
        reader, writer = await asyncio.open_connection("127.0.0.1", port)
        return cls(reader, writer)

    async def get(self, target: str, token: str) -> int:
        request = f"GET {target} HTTP/1.1\r\nHost: bench\r\nAuthorization: Bearer {token}\r\n\r\n"
        self.writer.write(request.encode())
        status = int((await self.reader.readline()).split()[1])
        length = 0
        while (line := await self.reader.readline()) not in (b"\r\n", b""):
            if line[:15].lower() == b"content-length:":
                length = int(line[15:])
        await self.reader.readexactly(length)
        return status

    async def close(self) -> None:
        self.writer.close()
        await self.writer.wait_closed()


@contextlib.contextmanager
def _collector_paused() -> Iterator[None]:
    """No cyclic garbage collection in this process while it measures. The load
    generator holds ~170,000 objects (psycopg, httpx, the seeding code); a full
    collection walked them in 30-90 ms, and every request in flight at that
    moment had the pause added to its latency: one pause puts 32 requests in
    the slowest percent of a run. What the loops allocate meanwhile is freed
    by reference counting; the collector runs again once the window closes."""
    gc.collect()
    gc.freeze()
    gc.disable()
    try:
        yield
    finally:
        gc.enable()
        gc.unfreeze()


async def hammer(
    port: int, users: list[tuple[str, str]], path: str, params: dict[str, str], cpu: CpuMeter
) -> dict[str, float | int | None]:
    """CLIENTS concurrent loops: a warm-up (``WARM_UP_S``), then the requests
    that start in the next SECONDS are measured. The loops run straight through:
    a pause between warm-up and window would start every client at the same
    instant, and the first 32 requests would queue behind one another (a third
    of the slowest percent in a run). The CPU sample at the window's start is
    taken on a thread, so that the loops do not wait for its connection."""
    query = urlencode(params)
    latencies: list[float] = []
    errors = 0
    clients = [await Client.connect(port) for _ in range(CLIENTS)]
    with _collector_paused():
        window = time.perf_counter() + WARM_UP_S
        until = window + SECONDS

        async def loop(client: Client, seed: int) -> None:
            nonlocal errors
            rng = random.Random(seed)
            while (started := time.perf_counter()) < until:
                token, number = rng.choice(users)
                status = await client.get(f"/api/v1/accounts/{number}/{path}?{query}", token)
                if started >= window:
                    latencies.append(time.perf_counter() - started)
                    errors += status != 200

        async def sample_at_window() -> Sample:
            await asyncio.sleep(window - time.perf_counter())
            return await asyncio.to_thread(cpu.read)

        first = asyncio.create_task(sample_at_window())
        await asyncio.gather(*(loop(c, i) for i, c in enumerate(clients)))
        before = await first
        after = cpu.read()
    for c in clients:
        await c.close()
    ordered = sorted(latencies)
    return {
        "requests": len(ordered),
        "errors": errors,
        "rps": round(len(ordered) / SECONDS, 1),
        "p50_ms": round(statistics.median(ordered) * 1000, 1),
        "p99_ms": round(ordered[min(len(ordered) - 1, int(len(ordered) * 0.99))] * 1000, 1),
        **CpuMeter.per_request(before, after, len(ordered)),
    }


def main() -> None:
    server = server_url()
    url, empty = scratch_database(server)
    seconds = 0.0
    if empty:
        _, seconds = load(url)
    with psycopg.connect(url) as conn:
        row = conn.execute("SELECT count(*) FROM readings").fetchone()
    rows = int(row[0]) if row else 0
    users = logins(url)
    port = free_port()
    process = start_api(url, port)
    try:
        year = datetime.now(UTC).year
        cpu = CpuMeter(process.pid, url)
        results = {
            name: asyncio.run(hammer(port, users, path, params, cpu))
            for name, (path, params) in endpoints(year).items()
        }
    finally:
        process.send_signal(signal.SIGINT)
        try:
            process.wait(timeout=20)
        except subprocess.TimeoutExpired:
            process.kill()
    worst = max(float(r["p99_ms"] or 0) for r in results.values())
    print(
        json.dumps(
            {
                "bench": "api",
                "backend": status(url).backend,
                "meters": METERS,
                "days": DAYS,
                "rows": rows,
                "seed_s": round(seconds, 1),
                "clients": CLIENTS,
                "workers": WORKERS,
                "access_log": ACCESS_LOG,
                "seconds_per_endpoint": SECONDS,
                "endpoints": results,
                "target_p99_ms": TARGET_P99_MS,
                "p99_ok": worst < TARGET_P99_MS,
            }
        )
    )


if __name__ == "__main__":
    main()
