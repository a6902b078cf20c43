"""A realistic population for demos, tests and benchmarks.

Accounts in the Volyn region, metering points with valid ``62Z…`` EICs, meters
on single, two-zone and three-zone plans (5–6 digits), and 15-minute reads that
follow a household daily load curve, split into zone registers by the tariff
calendar in local time. Energy is integer Wh per slot, so every register is an
exact running sum. Generated with numpy and loaded with COPY.
"""

from __future__ import annotations

import io
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

import numpy as np
import psycopg
from psycopg.rows import TupleRow

from drivers.domain import KYIV, Plan, TariffCalendar, eic_check_char

SLOT = timedelta(minutes=15)

TOWNS = ("Луцьк", "Ковель", "Володимир", "Нововолинськ", "Ківерці", "Любомль", "Камінь-Каширський")
STREETS = (
    "вул. Лесі Українки",
    "вул. Шевченка",
    "просп. Волі",
    "вул. Коперника",
    "вул. Винниченка",
)
NAMES = ("Олена Ковальчук", "Іван Мельник", "Марія Бондар", "Петро Ткачук", "Оксана Лісова",
         "Андрій Савчук", "Наталія Гнатюк", "Василь Кравчук")  # fmt: skip

# Share of a household's daily energy in each local hour (sums to 1): night
# trough, morning and evening peaks.
HOURLY_PROFILE = np.array(
    [
        2.2,
        1.8,
        1.6,
        1.5,
        1.5,
        1.8,
        3.0,
        4.6,
        5.2,
        4.4,
        3.8,
        3.6,
        3.7,
        3.6,
        3.5,
        3.6,
        4.2,
        5.4,
        6.8,
        7.6,
        7.4,
        6.4,
        4.6,
        3.2,
    ]
)
HOURLY_PROFILE = HOURLY_PROFILE / HOURLY_PROFILE.sum()

PLAN_REGISTERS = {Plan.SINGLE: (0,), Plan.TWO_ZONE: (1, 2), Plan.THREE_ZONE: (1, 2, 3)}


@dataclass(frozen=True, slots=True, kw_only=True)
class SeedResult:
    accounts: int
    meters: int
    readings: int
    start: datetime
    end: datetime


def eic_for(n: int) -> str:
    """A valid metering-point EIC ``62Z…`` for number ``n`` (skips ids whose
    check character would be ``-``, which is invalid)."""
    while True:
        body = f"62Z{n:012d}"
        check = eic_check_char(body)
        if check != "-":
            return body + check
        n += 10**11  # move to another identifier; stays 12 digits for n < 9e11


def _plan_for(i: int) -> Plan:
    r = i % 10
    return Plan.SINGLE if r < 5 else Plan.TWO_ZONE if r < 9 else Plan.THREE_ZONE


def _zone_registers(plan: Plan, slots: list[datetime], calendar: TariffCalendar) -> np.ndarray:
    return np.array([calendar.zone_at(plan, s).register for s in slots], dtype=np.int16)


def seed(
    conninfo: str,
    *,
    meters: int,
    days: int,
    end: datetime | None = None,
    rng_seed: int = 1,
    first_number: int = 1,
) -> SeedResult:
    """Create ``meters`` accounts/points/meters and ``days`` of 15-minute reads
    ending at ``end`` (default: the last 15-minute boundary before now)."""
    rng = np.random.default_rng(rng_seed)
    now = end or datetime.now(UTC)
    end = now.replace(minute=now.minute - now.minute % 15, second=0, microsecond=0)
    start = end - timedelta(days=days)
    slots = [start + SLOT * k for k in range(days * 96 + 1)]
    local_hours = np.array([s.astimezone(KYIV).hour for s in slots])
    calendar = TariffCalendar()
    # The energy booked at a read was used in the 15 minutes before it: its
    # zone is the one in force at the slot's start.
    slot_starts = [s - SLOT for s in slots]
    zone_of = {plan: _zone_registers(plan, slot_starts, calendar) for plan in Plan}
    numbers = range(first_number, first_number + meters)

    with psycopg.connect(conninfo) as conn:
        ids = register_meters(conn, [household(n) for n in numbers], start)
        # Every register's running values first (rows: meter, register), then
        # written slot by slot: rows land in time order, as a gateway writes
        # them, so the physical order (and what BRIN and per-meter reads cost)
        # is a production store's, not one meter's history after another's.
        keys: list[tuple[int, int]] = []
        columns: list[np.ndarray] = []
        for meter_id, n in zip(ids, numbers, strict=True):
            plan = household(n).plan
            daily_wh = rng.uniform(4_000, 14_000)
            per_slot = (
                daily_wh * HOURLY_PROFILE[local_hours] / 4 * rng.uniform(0.6, 1.4, len(slots))
            )
            energy = np.rint(per_slot).astype(np.int64)
            energy[0] = 0
            base = int(rng.integers(1_000, 40_000)) * 1000
            for register in PLAN_REGISTERS[plan]:
                share = energy if register == 0 else np.where(zone_of[plan] == register, energy, 0)
                keys.append((meter_id, register))
                columns.append(base // len(PLAN_REGISTERS[plan]) + np.cumsum(share))
        total = len(keys) * len(slots)
        values = np.stack(columns, axis=1) if columns else np.empty((len(slots), 0), np.int64)
        del columns
        prefixes = [f"{meter_id},{register}," for meter_id, register in keys]
        buf = io.StringIO()
        for k, t in enumerate(slots):
            tail = f"{t.isoformat()},1,"
            row = values[k].tolist()
            buf.writelines(f"{p}{tail}{v},0,seed\n" for p, v in zip(prefixes, row, strict=True))
            if buf.tell() > 8_000_000:
                _copy_csv(conn, buf)
        _copy_csv(conn, buf)
        conn.execute(
            "INSERT INTO rollup_invalidations (lo, hi) VALUES (%s, %s)", (slots[0], slots[-1])
        )
        conn.commit()
    return SeedResult(accounts=meters, meters=meters, readings=total, start=start, end=end)


def _copy_csv(conn: psycopg.Connection[TupleRow], buf: io.StringIO) -> None:
    data = buf.getvalue()
    buf.seek(0)
    buf.truncate()
    if not data:
        return
    with conn.cursor().copy(
        "COPY readings (meter_id, register, read_at, source, value_wh, quality, origin)"
        " FROM STDIN (FORMAT csv)"
    ) as copy:
        copy.write(data)


@dataclass(frozen=True, slots=True, kw_only=True)
class MeterSpec:
    """A meter to put in the store with its account, point and installation."""

    number: int
    """Makes the account number, EIC and address (unique per store)."""
    serial: str
    plan: Plan
    registers: tuple[int, ...]
    digits: int
    model: str


def household(n: int) -> MeterSpec:
    """The seed's household number ``n``: plan mix, NIK/GAMA/Teletec models, 5–6 digits."""
    plan = _plan_for(n)
    registers = PLAN_REGISTERS[plan]
    model = ("NIK 2104", "GAMA 100", "Teletec MTX 1")[len(registers) - 1]
    return MeterSpec(
        number=n, serial=f"SN{n:08d}", plan=plan, registers=registers, digits=5 + n % 2, model=model
    )


def register_meters(
    conn: psycopg.Connection[TupleRow], specs: Sequence[MeterSpec], installed: datetime
) -> list[int]:
    """Accounts, points, meters, installations and links; returns meter ids in order."""
    ids = []
    with conn.cursor() as cur:
        for spec in specs:
            n = spec.number
            town = TOWNS[n % len(TOWNS)]
            address = f"{town}, {STREETS[n % len(STREETS)]}, {n % 180 + 1}"
            cur.execute(
                "INSERT INTO accounts (number, holder_name, address, phone) VALUES (%s, %s, %s, %s)"
                " RETURNING id",
                (f"{10_000_000 + n}", NAMES[n % len(NAMES)], address, f"+380{500_000_000 + n}"),
            )
            account_id = _one(cur)
            cur.execute(
                "INSERT INTO metering_points (eic, address, region, permitted_power_kw,"
                " input_breaker, tariff_plan) VALUES (%s, %s, %s, %s, %s, %s) RETURNING id",
                (eic_for(n), address, town, (3, 5, 7, 10)[n % 4], n % 3 == 0, spec.plan.value),
            )
            point_id = _one(cur)
            zones = len([r for r in spec.registers if 0 < r < 10]) or 1
            # One display scale per import register (the total and each zone).
            scales = len([r for r in spec.registers if r < 10])
            cur.execute(
                "INSERT INTO meters (serial, model, digits, zones, scales, registers)"
                " VALUES (%s, %s, %s, %s, %s, %s) RETURNING id",
                (
                    spec.serial,
                    spec.model,
                    spec.digits,
                    zones,
                    scales,
                    list(spec.registers),
                ),
            )
            meter_id = _one(cur)
            cur.execute(
                "INSERT INTO meter_installations (meter_id, point_id, install_place, installed_at)"
                " VALUES (%s, %s, %s, %s)",
                (meter_id, point_id, ("сходова клітка", "фасад будинку", "квартира")[n % 3],
                 installed - timedelta(days=400)),
            )  # fmt: skip
            cur.execute(
                "INSERT INTO account_points (account_id, point_id) VALUES (%s, %s)",
                (account_id, point_id),
            )
            ids.append(meter_id)
    return ids


def _one(cur: psycopg.Cursor[tuple[int]]) -> int:
    row = cur.fetchone()
    assert row is not None
    return row[0]
