"""Bulk import of controller (inspector) readings (``metergate import controller``).

The rows (``controller_csv``: format and parsing) are checked against the
store: the point exists, the meter was installed there then, the register is
one of its zones, the value fits its digits, not in the future, not a
duplicate (in the file, or stored with another value), monotonic with
plausible rollover against the stored reads either side and the file's own
earlier rows, plausible for the permitted power; and one reading per zone: the
rows of one meter at one instant must cover every zone register. Bad rows are
reported with their line numbers; the good rows are stored.
"""

from __future__ import annotations

import asyncio
import json
from collections import defaultdict
from dataclasses import dataclass, replace
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import psycopg
from psycopg.rows import TupleRow

from drivers.domain import Plan, Quality, Source
from ingest.reconcile.controller_csv import CsvRow, RowError, parse
from ingest.reconcile.readings import store_rows
from ingest.reconcile.submissions import FUTURE_TOLERANCE, expected_registers
from ingest.reconcile.validation import KWH, Step, advance, cap_wh, rollover_wh


@dataclass(frozen=True, slots=True, kw_only=True)
class ImportReport:
    rows: int
    stored: int
    duplicates: int
    """Rows already stored with the same value (a re-import): skipped, not errors."""
    errors: tuple[RowError, ...]

    @property
    def ok(self) -> bool:
        return not self.errors


@dataclass(frozen=True, slots=True, kw_only=True)
class _Meter:
    point_id: int
    plan: Plan
    power_w: int
    meter_id: int
    digits: int
    registers: frozenset[int]
    installed_at: datetime
    removed_at: datetime | None


async def import_controller_csv(
    conninfo_or_conn: str | psycopg.AsyncConnection[TupleRow],
    path_or_text: Path | str,
    *,
    actor: str = "import",
) -> ImportReport:
    """Import a controller CSV (a ``Path``, or the CSV text itself)."""
    if isinstance(path_or_text, Path):
        text = await asyncio.to_thread(path_or_text.read_text, encoding="utf-8-sig")
    else:
        text = path_or_text
    if isinstance(conninfo_or_conn, str):
        async with await psycopg.AsyncConnection.connect(conninfo_or_conn) as conn:
            report = await _import(conn, text, actor)
            await conn.commit()
            return report
    async with conninfo_or_conn.transaction():
        return await _import(conninfo_or_conn, text, actor)


async def _import(conn: psycopg.AsyncConnection[TupleRow], text: str, actor: str) -> ImportReport:
    rows, errors = parse(text)
    total = len(rows) + len(errors)
    rows, more = await _resolve(conn, rows)
    errors += more
    rows, more, duplicates = await _check(conn, rows)
    errors += more
    rows, more = _complete(rows, await _meters(conn, rows))
    errors += more
    stored = await store_rows(
        conn,
        [
            (r.meter_id, r.register, r.at, Source.CONTROLLER.db_code, r.value_wh,
             int(Quality.VALID), f"controller:{r.controller}" if r.controller else "controller")
            for r in rows
        ],
    )  # fmt: skip
    report = ImportReport(
        rows=total,
        stored=stored,
        duplicates=duplicates,
        errors=tuple(sorted(errors, key=lambda e: (e.line, e.message))),
    )
    await conn.execute(
        "INSERT INTO audit_log (actor, action, entity, entity_id, details)"
        " VALUES (%s, 'controller.import', 'readings', 'controller', %s::jsonb)",
        (actor, json.dumps({"rows": total, "stored": stored, "duplicates": duplicates,
                            "errors": len(report.errors)})),
    )  # fmt: skip
    return report


async def _resolve(
    conn: psycopg.AsyncConnection[TupleRow], rows: list[CsvRow]
) -> tuple[list[CsvRow], list[RowError]]:
    """Attach point and meter ids; the meter must be installed at the point then."""
    if not rows:
        return [], []
    cur = await conn.execute(
        """SELECT k.i, p.id, m.id, i.id IS NOT NULL
           FROM unnest(%s::int[], %s::text[], %s::text[], %s::timestamptz[])
                AS k(i, eic, serial, at)
           LEFT JOIN metering_points p ON p.eic = k.eic
           LEFT JOIN meters m ON m.serial = k.serial
           LEFT JOIN meter_installations i ON i.point_id = p.id AND i.meter_id = m.id
                AND i.installed_at <= k.at AND (i.removed_at IS NULL OR i.removed_at > k.at)""",
        (
            list(range(len(rows))),
            [r.eic for r in rows],
            [r.serial for r in rows],
            [r.at for r in rows],
        ),
    )
    good, errors = [], []
    for i, point_id, meter_id, installed in await cur.fetchall():
        r = rows[i]
        if point_id is None:
            errors.append(RowError(line=r.line, message=f"no metering point {r.eic}"))
        elif meter_id is None:
            errors.append(RowError(line=r.line, message=f"no meter {r.serial}"))
        elif not installed:
            errors.append(
                RowError(line=r.line, message=f"meter {r.serial} was not installed at {r.eic} then")
            )
        else:
            good.append(replace(r, point_id=point_id, meter_id=meter_id))
    return good, errors


async def _meters(
    conn: psycopg.AsyncConnection[TupleRow], rows: list[CsvRow]
) -> dict[tuple[int, int], _Meter]:
    if not rows:
        return {}
    cur = await conn.execute(
        """SELECT DISTINCT p.id, p.tariff_plan, round(p.permitted_power_kw * 1000)::bigint, m.id,
                  m.digits, m.registers, i.installed_at, i.removed_at
           FROM unnest(%s::bigint[], %s::int[]) AS k(point_id, meter_id)
           JOIN metering_points p ON p.id = k.point_id
           JOIN meters m ON m.id = k.meter_id
           JOIN meter_installations i ON i.point_id = p.id AND i.meter_id = m.id""",
        ([r.point_id for r in rows], [r.meter_id for r in rows]),
    )
    out = {}
    for (
        pid,
        plan,
        power_w,
        mid,
        digits,
        registers,
        installed_at,
        removed_at,
    ) in await cur.fetchall():
        out[(pid, mid)] = _Meter(
            point_id=pid, plan=Plan(plan), power_w=int(power_w), meter_id=mid, digits=digits,
            registers=frozenset(registers), installed_at=installed_at, removed_at=removed_at,
        )  # fmt: skip
    return out


_NEIGHBOURS = """
SELECT k.i, p.read_at, p.value_wh, n.read_at, n.value_wh, same.sources, same.values
FROM unnest(%s::int[], %s::int[], %s::smallint[], %s::timestamptz[]) AS k(i, meter_id, register, at)
LEFT JOIN LATERAL (SELECT read_at, value_wh FROM readings
                   WHERE meter_id = k.meter_id AND register = k.register AND read_at < k.at
                     AND source IN (1, 2, 3) AND quality NOT IN (8, 10)
                   ORDER BY read_at DESC LIMIT 1) p ON true
LEFT JOIN LATERAL (SELECT read_at, value_wh FROM readings
                   WHERE meter_id = k.meter_id AND register = k.register AND read_at > k.at
                     AND source IN (1, 2, 3) AND quality NOT IN (8, 10)
                   ORDER BY read_at ASC LIMIT 1) n ON true
LEFT JOIN LATERAL (SELECT array_agg(source) AS sources, array_agg(value_wh) AS values
                   FROM readings
                   WHERE meter_id = k.meter_id AND register = k.register AND read_at = k.at) same
       ON true
"""


async def _check(
    conn: psycopg.AsyncConnection[TupleRow], rows: list[CsvRow]
) -> tuple[list[CsvRow], list[RowError], int]:
    """Value checks against the meter and its neighbouring reads; (good, errors, duplicates)."""
    meters = await _meters(conn, rows)
    if not rows:
        return [], [], 0
    cur = await conn.execute(
        _NEIGHBOURS,
        (
            list(range(len(rows))),
            [r.meter_id for r in rows],
            [r.register for r in rows],
            [r.at for r in rows],
        ),
    )
    neighbours = {row[0]: row[1:] for row in await cur.fetchall()}
    now = datetime.now(UTC)
    order = sorted(range(len(rows)), key=lambda i: (rows[i].meter_id, rows[i].register, rows[i].at))
    good: list[CsvRow] = []
    errors: list[RowError] = []
    duplicates = 0
    seen: dict[tuple[int, int, datetime], CsvRow] = {}
    last_in_file: dict[tuple[int, int], CsvRow] = {}
    for i in order:
        r = rows[i]
        meter = meters[(r.point_id, r.meter_id)]
        problem, duplicate = _problem(r, meter, neighbours[i], now, seen, last_in_file)
        if duplicate:
            duplicates += 1
        elif problem:
            errors.append(RowError(line=r.line, message=problem))
        else:
            good.append(r)
            seen[(r.meter_id, r.register, r.at)] = r
            last_in_file[(r.meter_id, r.register)] = r
    return good, errors, duplicates


def _problem(
    r: CsvRow,
    meter: _Meter,
    near: tuple[Any, ...],
    now: datetime,
    seen: dict[tuple[int, int, datetime], CsvRow],
    last_in_file: dict[tuple[int, int], CsvRow],
) -> tuple[str | None, bool]:
    """(what is wrong with the row, whether it is a harmless duplicate)."""
    prev_at, prev_wh, next_at, next_wh, same_sources, same_values = near
    wanted = expected_registers(meter.plan, meter.registers) or ()
    rollover = rollover_wh(meter.digits)
    if r.register not in wanted:
        return f"register {r.register} is not read on this meter (it has {list(wanted)})", False
    if r.value_wh >= rollover:
        return f"{r.value_wh / KWH:g} kWh has more than {meter.digits} digits", False
    if r.at > now + FUTURE_TOLERANCE:
        return f"read_at {r.at.isoformat()} is in the future", False
    twin = seen.get((r.meter_id, r.register, r.at))
    if twin is not None:
        return f"repeats line {twin.line}", False
    for source, value in zip(same_sources or (), same_values or (), strict=True):
        if value == r.value_wh:
            return None, True  # the same reading, already stored (by any source)
        if value != r.value_wh:
            return (
                f"a {Source.from_db(source)} reading of the same instant says {value / KWH:g} kWh",
                False,
            )
    earlier = last_in_file.get((r.meter_id, r.register))
    if earlier is not None and (prev_at is None or earlier.at > prev_at):
        prev_at, prev_wh = earlier.at, earlier.value_wh
    if prev_at is not None:
        cap = cap_wh(meter.power_w, r.at - prev_at, 100)
        step = advance(prev_wh, r.value_wh, rollover=rollover, cap=cap, whole_kwh=True)
        if step.step == Step.DROP:
            return f"below the reading of {prev_at.isoformat()} ({prev_wh / KWH:g} kWh)", False
        if step.step == Step.IMPLAUSIBLE:
            return (
                f"{step.wh / KWH:g} kWh since {prev_at.isoformat()} is more than the permitted"
                " power allows",
                False,
            )
    if next_at is not None:
        step = advance(r.value_wh, next_wh, rollover=rollover, cap=rollover // 10)
        if step.step == Step.DROP and r.value_wh - next_wh >= KWH:
            return (
                f"above the later reading of {next_at.isoformat()} ({next_wh / KWH:g} kWh)",
                False,
            )
    return None, False


def _complete(
    rows: list[CsvRow], meters: dict[tuple[int, int], _Meter]
) -> tuple[list[CsvRow], list[RowError]]:
    """Keep only readings that cover every zone of their meter (one row per zone)."""
    groups: dict[tuple[int, datetime], list[CsvRow]] = defaultdict(list)
    for r in rows:
        groups[(r.meter_id, r.at)].append(r)
    good, errors = [], []
    for group in groups.values():
        meter = meters[(group[0].point_id, group[0].meter_id)]
        wanted = set(expected_registers(meter.plan, meter.registers) or ())
        have = {r.register for r in group}
        if have == wanted:
            good.extend(group)
            continue
        for r in group:
            errors.append(
                RowError(
                    line=r.line,
                    message=f"the reading of {r.at.isoformat()} covers registers {sorted(have)};"
                    f" the meter needs {sorted(wanted)} (one row per zone)",
                )
            )
    return sorted(good, key=lambda r: r.line), errors
