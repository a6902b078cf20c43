"""Computing one period for a set of points: gather in batches, decide, write.

Per batch of points: one ``GATHER`` query, the zone energies of single-register
meters, the stored flags; the rules per point; new versions COPYed in; flags
synced. An open period is versioned; a closed one is only compared, and a
difference becomes a ``late_data`` flag (``write_closed``: the register an
operator correction may change).

A large scope is split across worker processes (``worker``, each with its own
connection and transaction): the work is about half database, half Python, and
both halves then run on every core. Each worker's transaction commits on its
own; a failed run leaves committed batches that a re-run finds unchanged.
"""

from __future__ import annotations

import itertools
import logging
import os
import pickle
import subprocess
import sys
import time
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass, fields
from datetime import datetime
from pathlib import Path

import psycopg
from psycopg.rows import TupleRow

from ingest.reconcile import flags as flag_store
from ingest.reconcile.candidates import MANUAL, Evidence, gather, gather_params, instant
from ingest.reconcile.choose import Context
from ingest.reconcile.compute import PeriodResult, PointOutcome, point_outcome
from ingest.reconcile.errors import ReconcileError
from ingest.reconcile.flags import FlagDraft, FlagKind
from ingest.reconcile.periods import PeriodBounds, add_months, bounds
from ingest.reconcile.policy import Policy
from ingest.reconcile.session import tune
from ingest.reconcile.split import zone_energy
from ingest.reconcile.versions import Pending, differences, next_version, write

log = logging.getLogger(__name__)

BATCH_POINTS = 50_000
PARALLEL_MIN_POINTS = 40_000
"""Smaller scopes run in the caller's transaction (a worker costs ~0.5 s to start)."""


def workers() -> int:
    """Worker processes for a large scope: ``METERGATE_RECONCILE_WORKERS``, else
    one per core, at most 4."""
    configured = os.environ.get("METERGATE_RECONCILE_WORKERS")
    if configured:
        return max(1, int(configured))
    return max(1, min(4, os.cpu_count() or 1))


@dataclass(slots=True)
class Tally:
    points: int = 0
    results: int = 0
    versions: int = 0
    flags: int = 0
    pending: int = 0
    late: int = 0

    def add(self, other: Tally) -> None:
        for f in fields(self):
            setattr(self, f.name, getattr(self, f.name) + getattr(other, f.name))


@dataclass(frozen=True, slots=True, kw_only=True)
class Job:
    """One period to compute, as the workers receive it."""

    bounds: PeriodBounds
    closed: bool
    policy: Policy
    now: datetime
    run_id: int
    write_closed: int | None = None


def scope_ids(conn: psycopg.Connection[TupleRow], b: PeriodBounds) -> list[int]:
    """Every point with a meter installed during the period."""
    rows = conn.execute(
        """SELECT DISTINCT point_id FROM meter_installations
           WHERE installed_at < %s AND (removed_at IS NULL OR removed_at > %s)
           ORDER BY point_id""",
        (b.end, b.start),
    ).fetchall()
    return [r[0] for r in rows]


def run_period(
    conn: psycopg.Connection[TupleRow], conninfo: str, job: Job, ids: Sequence[int]
) -> Tally:
    """Compute ``job`` for ``ids``: in ``conn``'s open transaction, or across
    worker processes when the scope is large."""
    n = workers()
    if len(ids) < PARALLEL_MIN_POINTS or n == 1:
        return work(conn, job, ids)
    size = -(-len(ids) // n)
    parts = [list(ids[i : i + size]) for i in range(0, len(ids), size)]
    root = Path(__file__).resolve().parents[2]
    procs = []
    for part in parts:
        proc = subprocess.Popen(  # our own interpreter and module, no shell
            [sys.executable, "-m", "ingest.reconcile.worker"],
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            cwd=root,
        )
        assert proc.stdin is not None
        pickle.dump((conninfo, job, part), proc.stdin)
        proc.stdin.close()
        procs.append(proc)
    tally = Tally()
    failed = 0
    for proc in procs:
        assert proc.stdout is not None
        with proc.stdout:
            out = proc.stdout.read()
        if proc.wait() != 0 or not out:
            failed += 1
            continue
        tally.add(pickle.loads(out))  # noqa: S301 - from the worker we started
    if failed:
        raise ReconcileError(f"{failed} of {len(procs)} reconcile workers failed (see their log)")
    return tally


def work_in_process(conninfo: str, job: Job, ids: list[int]) -> Tally:
    """A worker: its own connection and transaction."""
    with psycopg.connect(conninfo) as conn:
        tune(conn)
        tally = work(conn, job, ids)
        conn.commit()
        return tally


def work(conn: psycopg.Connection[TupleRow], job: Job, ids: Sequence[int]) -> Tally:
    """Compute ``job`` for ``ids`` (sorted) on ``conn``, inside its transaction."""
    tally = Tally()
    if not ids:
        return tally
    b, policy = job.bounds, job.policy
    clock = _Clock()
    _fill_scope(conn, ids)
    params = gather_params(b, policy)
    conn.execute(MANUAL, params)
    conn.execute("ANALYZE rc_manual")
    ctx = Context.build(b, policy, job.now, bounds(add_months(b.period, -12), policy).days)
    zones = _zones(conn, b)
    clock.lap("scope")
    for lo, hi, chunk in _batches(ids, BATCH_POINTS):
        evidence = gather(conn, params, lo, hi)
        clock.lap("gather")
        split = _split_energy(conn, b, policy, evidence)
        stored = flag_store.load(conn, b.period, chunk)
        clock.lap("split+flags")
        pending: list[Pending] = []
        computed: dict[int, list[FlagDraft]] = {}
        for point, rows in itertools.groupby(evidence, key=lambda e: e.point_id):
            group = list(rows)
            outcome = point_outcome(ctx, group, zones, split.get(point), stored)
            computed[point] = _account(job, group, outcome, pending, tally)
        clock.lap("compute")
        tally.versions += write(conn, pending, job.run_id)
        clock.lap("write")
        tally.flags += flag_store.sync(
            conn,
            period=b.period,
            computed=computed,
            stored=stored,
            run_id=job.run_id,
            resolve_missing=not job.closed,
        )
        clock.lap("flags")
    conn.execute("DROP TABLE rc_manual")
    log.info("period %s, %d points: %s", b.label, len(ids), clock)
    return tally


def _account(
    job: Job, group: list[Evidence], outcome: PointOutcome, pending: list[Pending], tally: Tally
) -> list[FlagDraft]:
    """Count a point's outcome, queue its new versions; the flags to sync."""
    tally.points += 1
    tally.pending += outcome.pending
    tally.results += len(outcome.results)
    current = {e.register: e for e in group}
    for result in outcome.results:
        if job.closed and not _writable(job, outcome, result):
            continue
        version = next_version(result, current.get(result.register))
        if version is not None:
            pending.append(version)
    if not job.closed:
        return list(outcome.flags)
    late = late_flags(current, outcome, skip=lambda r: _writable(job, outcome, r))
    tally.late += len(late)
    return late


def _writable(job: Job, outcome: PointOutcome, result: PeriodResult) -> bool:
    """May a closed period's ``result`` get a new version? Only the register an
    operator corrects — and a split meter's zone rows with its total."""
    if job.write_closed is None:
        return False
    split = any(not r.billed for r in outcome.results)
    return result.register == job.write_closed or (split and job.write_closed == 0)


def late_flags(
    current: dict[int, Evidence],
    outcome: PointOutcome,
    *,
    skip: Callable[[PeriodResult], bool],
) -> list[FlagDraft]:
    """A closed period's recomputed result differs from the stored one: say how."""
    flags = []
    for result in outcome.results:
        stored = current.get(result.register)
        if stored is None or stored.cur_version is None or skip(result):
            continue
        if not differences(result, stored):
            continue
        flags.append(
            FlagDraft(
                point_id=result.point_id,
                register=result.register,
                kind=FlagKind.LATE_DATA,
                reason=f"data after the close would change the result: consumption"
                f" {stored.cur_consumption_wh} -> {result.consumption_wh} Wh, closing"
                f" {stored.cur_closing_wh} -> {result.closing_wh} Wh ({result.source})",
            )
        )
    return flags


def _fill_scope(conn: psycopg.Connection[TupleRow], ids: Sequence[int]) -> None:
    conn.execute(
        "CREATE TEMP TABLE IF NOT EXISTS rc_scope (point_id bigint PRIMARY KEY)"
        " ON COMMIT DELETE ROWS"
    )
    conn.execute("TRUNCATE rc_scope")
    with conn.cursor() as cur, cur.copy("COPY rc_scope (point_id) FROM STDIN (FORMAT BINARY)") as c:
        c.set_types(["int8"])
        for point in ids:
            c.write_row((point,))
    conn.execute("ANALYZE rc_scope")


def _batches(ids: Sequence[int], size: int) -> Iterator[tuple[int, int, list[int]]]:
    for i in range(0, len(ids), size):
        chunk = list(ids[i : i + size])
        yield chunk[0], chunk[-1] + 1, chunk


def _zones(conn: psycopg.Connection[TupleRow], b: PeriodBounds) -> dict[tuple[str, int], str]:
    """Zone names by (plan, register), as the calendar in force at the period's start says."""
    rows = conn.execute(
        """SELECT DISTINCT ON (plan, register) plan, register, zone FROM tariff_calendars
           WHERE effective_from <= %s ORDER BY plan, register, effective_from DESC""",
        (b.period,),
    ).fetchall()
    return {(plan, register): zone for plan, register, zone in rows}


def _split_energy(
    conn: psycopg.Connection[TupleRow], b: PeriodBounds, policy: Policy, evidence: list[Evidence]
) -> dict[int, dict[int, int]]:
    segments = [
        (e.point_id, e.meter_id, e.plan, instant(e.start), instant(e.end))
        for e in evidence
        if e.register == 0 and e.plan != "single"
    ]
    return zone_energy(
        conn, segments, start=b.start, end=b.end, max_interval=policy.split_max_interval
    )


class _Clock:
    """Seconds spent per phase (logged: where a run's time goes)."""

    def __init__(self) -> None:
        self._last = time.perf_counter()
        self.spent: dict[str, float] = {}

    def lap(self, phase: str) -> None:
        now = time.perf_counter()
        self.spent[phase] = self.spent.get(phase, 0.0) + now - self._last
        self._last = now

    def __str__(self) -> str:
        return ", ".join(f"{k} {v:.1f}s" for k, v in self.spent.items())
