"""What was installed at a metering point and when (P14), and the readings of
those meters while they were there, newest first, a page at a time."""

from __future__ import annotations

import functools
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any, NamedTuple

from drivers.domain import Quality, Source
from ingest.migrate import Backend
from ingest.portal._sql import Conn, many, rows_as


@dataclass(frozen=True, slots=True, kw_only=True)
class Installation:
    id: int
    meter_id: int
    serial: str
    model: str
    digits: int
    zones: int
    registers: list[int]
    install_place: str
    installed_at: datetime
    removed_at: datetime | None
    values_at_install: dict[str, int]
    """Register number (as text, JSON keys) -> Wh at installation."""
    values_at_removal: dict[str, int]


@dataclass(frozen=True, slots=True, kw_only=True)
class MeterSpan:
    """A meter's stay at a point, clipped to a requested range."""

    meter_id: int
    digits: int
    registers: list[int]
    since: datetime
    until: datetime | None


class HistoryRow(NamedTuple):
    """One reading of a history page (a NamedTuple: a page builds a hundred)."""

    meter_id: int
    serial: str
    register: int
    read_at: datetime
    value_wh: int
    source_code: int
    quality_code: int

    @property
    def source(self) -> Source:
        return Source.from_db(self.source_code)

    @property
    def quality(self) -> Quality:
        return Quality(self.quality_code)


async def installations(conn: Conn, point_id: int) -> list[Installation]:
    """Every installation and removal at a point, newest first, with register values."""
    return await many(
        conn,
        Installation,
        """SELECT mi.id, m.id AS meter_id, m.serial, m.model, m.digits, m.zones, m.registers,
                  mi.install_place, mi.installed_at, mi.removed_at,
                  coalesce((SELECT jsonb_object_agg(iv.register::text, iv.at_install_wh)
                            FROM installation_values iv WHERE iv.installation_id = mi.id),
                           '{}') AS values_at_install,
                  coalesce((SELECT jsonb_object_agg(iv.register::text, iv.at_removal_wh)
                            FROM installation_values iv
                            WHERE iv.installation_id = mi.id AND iv.at_removal_wh IS NOT NULL),
                           '{}') AS values_at_removal
           FROM meter_installations mi JOIN meters m ON m.id = mi.meter_id
           WHERE mi.point_id = %s ORDER BY mi.installed_at DESC""",
        (point_id,),
    )


def meter_spans(
    stays: Sequence[Mapping[str, Any]], start: datetime, end: datetime
) -> list[MeterSpan]:
    """The meters installed at a point during ``[start, end)``, oldest first,
    from the point's stays (``accounts.Point.stays``, JSON as the lookup read it)."""
    spans = []
    for stay in stays:
        installed = datetime.fromisoformat(stay["installed_at"])
        removed = None if stay["removed_at"] is None else datetime.fromisoformat(stay["removed_at"])
        if installed >= end or (removed is not None and removed <= start):
            continue
        spans.append(
            MeterSpan(
                meter_id=stay["meter_id"],
                digits=stay["digits"],
                registers=stay["registers"],
                since=max(installed, start),
                until=None if removed is None or removed >= end else removed,
            )
        )
    return spans


@dataclass(frozen=True, slots=True, kw_only=True)
class Cursor:
    """Position after the last row of a page (rows are ordered newest first)."""

    read_at: datetime
    meter_id: int
    register: int
    source_code: int


# Plain PostgreSQL: one branch per (meter, register), newest first by a
# backward index scan, each stopped at ``limit`` rows; PostgreSQL merges the
# branches in order (Merge Append) and reads from each only as far as the page
# needs: a page of a two-register meter reads ~half its rows from each
# register, where a join over the registers read ``limit`` rows from every one
# and sorted them all.
# TimescaleDB: one branch per meter, over all its registers, sorted. Every
# reference to the hypertable is planned and its chunks excluded one by one:
# a three-register page took 2.2 ms to plan as three branches, 0.8 ms as one
# (and ~0.1 ms more to run, sorting a window's few hundred rows).
# ``lo``/``hi`` bound the scans with values the planner sees: on TimescaleDB
# only the chunks between them are planned and locked.
_BRANCH = """(SELECT r.meter_id, (SELECT serial FROM meters WHERE id = %(meter{i})s::int) AS serial,
        r.register, r.read_at, r.value_wh, r.source AS source_code, r.quality AS quality_code
 FROM readings r
 WHERE r.meter_id = %(meter{i})s::int AND r.register {registers}
   AND r.read_at >= %(lo)s AND r.read_at < %(hi)s
   AND r.read_at >= %(since{i})s AND r.read_at < %(until{i})s
   AND r.source = ANY(%(sources)s::smallint[]) {after}
 ORDER BY r.read_at DESC, {order}r.source DESC
 LIMIT %(limit)s)"""
_REGISTERS: dict[Backend, tuple[str, str]] = {  # (the branch's registers, their order)
    "postgresql": ("= %(register{i})s::smallint", ""),
    "timescaledb": ("= ANY(%(register{i})s::smallint[])", "r.register DESC, "),
}
_AFTER = """AND r.read_at <= %(c_at)s
   AND (r.read_at, r.meter_id, r.register, r.source)
       < (%(c_at)s, %(c_meter)s, %(c_register)s, %(c_source)s)"""
_PAGE = """SELECT * FROM ({branches}) AS page
ORDER BY read_at DESC, meter_id DESC, register DESC, source_code DESC
LIMIT %(limit)s"""


@functools.cache
def _page_query(backend: Backend, branches: int, *, after: bool) -> bytes:
    """The page's statement over ``branches`` scans, made once per shape (a
    handful: up to four registers, a meter or two)."""
    registers, order = _REGISTERS[backend]
    parts = (
        _BRANCH.format(
            i=i, registers=registers.format(i=i), order=order, after=_AFTER if after else ""
        )
        for i in range(branches)
    )
    return _PAGE.format(branches="\nUNION ALL\n".join(parts)).encode()


_WINDOWS: tuple[timedelta | None, ...] = (timedelta(days=2), timedelta(days=16), None)
"""How far back a page looks, in turn, until it has its rows: a page of 15-minute
reads lies within the last day or two, and on TimescaleDB each query plans and
locks only the chunks of its window (the whole 92-day default window is 92
daily chunks per query: with 40 connections the lock table overflowed). None:
the whole range asked."""
_TICK = timedelta(microseconds=1)
"""The resolution of timestamps: ``read_at <= t`` is ``read_at < t + _TICK``."""


async def readings(
    conn: Conn,
    *,
    stays: Sequence[Mapping[str, Any]],
    start: datetime,
    end: datetime,
    sources: Sequence[Source],
    after: Cursor | None,
    limit: int,
    backend: Backend,
) -> list[HistoryRow]:
    """Readings of the meters at a point while installed there, newest first."""
    spans = meter_spans(stays, start, end)
    branches: list[tuple[MeterSpan, int | list[int]]]
    if backend == "timescaledb":
        branches = [(span, span.registers) for span in spans if span.registers]
    else:
        branches = [(span, r) for span in spans for r in span.registers]
    if not branches:
        return []
    params: dict[str, object] = {"sources": [s.db_code for s in sources], "limit": limit}
    for i, (span, register) in enumerate(branches):
        params[f"meter{i}"] = span.meter_id
        params[f"register{i}"] = register
        params[f"since{i}"] = span.since
        params[f"until{i}"] = span.until or end
    if after is not None:
        params.update(c_at=after.read_at, c_meter=after.meter_id, c_register=after.register,
                      c_source=after.source_code)  # fmt: skip
    query = _page_query(backend, len(branches), after=after is not None)
    hi = end if after is None else min(end, after.read_at + _TICK)
    async with conn.cursor(row_factory=rows_as(HistoryRow)) as cur:
        for width in _WINDOWS:
            lo = start if width is None else max(start, hi - width)
            await cur.execute(query, {**params, "lo": lo, "hi": hi}, binary=True)
            rows = await cur.fetchall()
            if len(rows) >= limit or lo == start:
                # every reading from lo on was a candidate, and the rest are older
                return rows
    raise AssertionError("unreachable: the last window starts at start")
