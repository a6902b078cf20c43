"""A migrated store emptied of reconciler state too, and a small builder of points,
meters and readings for the named scenarios."""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from typing import Any

import psycopg
import pytest

from drivers.domain import KYIV, Source
from ingest.seed import eic_for

_RECONCILE_TABLES = (
    "period_reads, review_flags, consumer_submissions, period_corrections, reconcile_queue,"
    " reconcile_runs, billing_periods"
)


def kyiv(y: int, m: int, d: int, h: int = 0, minute: int = 0) -> datetime:
    """A Kyiv wall-clock instant, in UTC."""
    return datetime(y, m, d, h, minute, tzinfo=KYIV).astimezone(UTC)


@dataclass(frozen=True, slots=True, kw_only=True)
class Point:
    id: int
    eic: str
    meter_id: int
    serial: str
    installation_id: int


@dataclass(frozen=True, slots=True)
class Site:
    """Builds scenario data straight into the test database."""

    url: str

    def point(
        self,
        n: int,
        *,
        plan: str = "single",
        power_kw: float = 5,
        digits: int = 6,
        registers: Sequence[int] | None = None,
        installed: datetime = datetime(2020, 1, 1, tzinfo=UTC),
        install_values: dict[int, int] | None = None,
    ) -> Point:
        regs = list(registers if registers is not None else _plan_registers(plan))
        with psycopg.connect(self.url) as conn:
            point_id = _one(conn, "INSERT INTO metering_points (eic, address, permitted_power_kw,"
                            " tariff_plan) VALUES (%s, 'test', %s, %s) RETURNING id",
                            (eic_for(n), power_kw, plan))  # fmt: skip
            serial = f"T{n:07d}"
            zones = max(1, len([r for r in regs if r]))
            meter_id = _one(conn, "INSERT INTO meters (serial, model, digits, zones, registers)"
                            " VALUES (%s, 'test', %s, %s, %s) RETURNING id",
                            (serial, digits, zones, regs))  # fmt: skip
            inst = _install(conn, meter_id, point_id, installed, install_values)
        return Point(id=point_id, eic=eic_for(n), meter_id=meter_id, serial=serial,
                     installation_id=inst)  # fmt: skip

    def replace_meter(
        self,
        point: Point,
        at: datetime,
        *,
        removal_values: dict[int, int],
        install_values: dict[int, int],
        serial: str,
        digits: int = 6,
        registers: Sequence[int] = (0,),
    ) -> Point:
        with psycopg.connect(self.url) as conn:
            conn.execute(
                "UPDATE meter_installations SET removed_at = %s WHERE id = %s",
                (at, point.installation_id),
            )
            for register, wh in removal_values.items():
                conn.execute(
                    "UPDATE installation_values SET at_removal_wh = %s"
                    " WHERE installation_id = %s AND register = %s",
                    (wh, point.installation_id, register),
                )
            meter_id = _one(conn, "INSERT INTO meters (serial, model, digits, zones, registers)"
                            " VALUES (%s, 'test', %s, 1, %s) RETURNING id",
                            (serial, digits, list(registers)))  # fmt: skip
            inst = _install(conn, meter_id, point.id, at, install_values)
        return Point(id=point.id, eic=point.eic, meter_id=meter_id, serial=serial,
                     installation_id=inst)  # fmt: skip

    def reads(
        self,
        meter_id: int,
        register: int,
        values: Iterable[tuple[datetime, int]],
        *,
        source: Source = Source.AUTO,
        received_at: datetime | None = None,
        quality: int = 0,
    ) -> None:
        received = received_at or datetime.now(UTC)
        rows = [
            (meter_id, register, at, source.db_code, wh, quality, received, "test")
            for at, wh in values
        ]
        with (
            psycopg.connect(self.url) as conn,
            conn.cursor() as cur,
            cur.copy(
                "COPY readings (meter_id, register, read_at, source, value_wh, quality,"
                " received_at, origin) FROM STDIN (FORMAT BINARY)"
            ) as copy,
        ):
            copy.set_types(["int4", "int2", "timestamptz", "int2", "int8", "int2",
                            "timestamptz", "text"])  # fmt: skip
            for row in rows:
                copy.write_row(row)

    def series(
        self,
        meter_id: int,
        register: int,
        start: datetime,
        end: datetime,
        *,
        step: timedelta = timedelta(hours=1),
        first_wh: int = 10_000_000,
        per_step_wh: int = 100,
    ) -> None:
        """Automatic reads from ``start`` to ``end`` inclusive, rising evenly."""
        count = int((end - start) / step) + 1
        self.reads(
            meter_id,
            register,
            ((start + step * i, first_wh + per_step_wh * i) for i in range(count)),
        )

    def results(self, period: date) -> dict[tuple[str, int], dict[str, Any]]:
        """Current results of a period by (EIC, register)."""
        with psycopg.connect(self.url) as conn:
            cur = conn.execute(
                "SELECT p.eic, r.* FROM period_reads r JOIN metering_points p ON p.id = r.point_id"
                " WHERE r.period = %s AND r.superseded_at IS NULL",
                (period,),
            )
            names = [c.name for c in cur.description or ()]
            rows = [dict(zip(names, row, strict=True)) for row in cur.fetchall()]
        return {(r["eic"], r["register"]): r for r in rows}

    def flags(self, period: date | None = None, *, open_only: bool = True) -> list[tuple]:
        """(eic, register, kind) of flags, sorted."""
        with psycopg.connect(self.url) as conn:
            rows = conn.execute(
                "SELECT p.eic, f.register, f.kind FROM review_flags f"
                " JOIN metering_points p ON p.id = f.point_id"
                " WHERE (%s::date IS NULL OR f.period = %s)"
                " AND (NOT %s OR f.resolved_at IS NULL)",
                (period, period, open_only),
            ).fetchall()
        return sorted(rows, key=lambda r: (r[0], -1 if r[1] is None else r[1], r[2]))

    def execute(self, query: str, params: Sequence[Any] = ()) -> list[tuple]:
        with psycopg.connect(self.url) as conn:
            cur = conn.execute(query, params)
            return cur.fetchall() if cur.description else []


def _plan_registers(plan: str) -> list[int]:
    return {"single": [0], "two_zone": [1, 2], "three_zone": [1, 2, 3]}[plan]


def _install(
    conn: psycopg.Connection, meter_id: int, point_id: int, at: datetime,
    values: dict[int, int] | None,
) -> int:  # fmt: skip
    inst = _one(conn, "INSERT INTO meter_installations (meter_id, point_id, installed_at)"
                " VALUES (%s, %s, %s) RETURNING id", (meter_id, point_id, at))  # fmt: skip
    for register, wh in (values or {}).items():
        conn.execute(
            "INSERT INTO installation_values (installation_id, register, at_install_wh)"
            " VALUES (%s, %s, %s)",
            (inst, register, wh),
        )
    return inst


def _one(conn: psycopg.Connection, query: str, params: Sequence[Any]) -> int:
    row = conn.execute(query, params).fetchone()
    assert row is not None
    return int(row[0])


def empty_reconciler(url: str) -> None:
    with psycopg.connect(url, autocommit=True) as conn:
        conn.execute(f"TRUNCATE {_RECONCILE_TABLES} RESTART IDENTITY CASCADE")
        conn.execute("DELETE FROM tariff_calendars WHERE effective_from > '2000-01-01'")
        conn.execute("DELETE FROM reconcile_policy")
        conn.execute("INSERT INTO reconcile_policy DEFAULT VALUES")
        conn.execute("UPDATE reconcile_state SET watermark = '1970-01-01 00:00+00'")


@pytest.fixture
def site(store_url: str) -> Site:
    """An empty migrated store (per backend) and a builder for it."""
    empty_reconciler(store_url)
    return Site(store_url)
