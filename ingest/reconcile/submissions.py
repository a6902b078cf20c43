"""Consumer submissions from the cabinet (P5): a preview, then the confirmed reading.

``preview_submission`` checks what the consumer typed — one whole-kWh value per
zone of the meter installed now, at most ``digits`` digits, not below the last
valid reading unless a plausible rollover explains it, not more than the
permitted power allows since then, not in the future, not a second reading of
the same instant — and shows per zone the kWh since the controller's last read
and the total of the period the reading counts for. It raises nothing for bad
input: the errors are in the preview. ``confirm_submission`` checks again under a
lock on the point and stores the readings (source consumer, quality valid).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta

import psycopg
from psycopg.rows import TupleRow

from drivers.domain import Plan, Quality, Source, plan_registers
from ingest.reconcile.errors import SubmissionRejected
from ingest.reconcile.periods import add_months, billing_period_for_reading
from ingest.reconcile.policy import load_policy_async
from ingest.reconcile.readings import LastRead, last_reads, store_rows
from ingest.reconcile.validation import KWH, Step, advance, cap_wh, fits_digits, rollover_wh

FUTURE_TOLERANCE = timedelta(minutes=5)


@dataclass(frozen=True, slots=True, kw_only=True)
class ZonePreview:
    """What the cabinet shows for one zone before the consumer confirms."""

    register: int
    zone: str
    value_kwh: int | None
    """As typed; None when the zone was left out."""
    previous_wh: int | None
    previous_at: datetime | None
    previous_source: str | None
    """auto | consumer | controller | install; None without any earlier value."""
    since_controller_wh: int | None
    """Consumption since the controller's last read; None without one."""
    period_total_wh: int | None
    """Consumption in the billing period the reading counts for, from its opening."""
    errors: tuple[str, ...]


@dataclass(frozen=True, slots=True, kw_only=True)
class SubmissionPreview:
    point_id: int
    meter_id: int | None
    serial: str | None
    digits: int | None
    at: datetime
    period: date | None
    """The billing period the reading counts for (the one it closes when sent in
    the submission window)."""
    zones: tuple[ZonePreview, ...]
    errors: tuple[str, ...]
    """Every error, the point's and the zones' (empty: acceptable)."""

    @property
    def ok(self) -> bool:
        return not self.errors


@dataclass(frozen=True, slots=True, kw_only=True)
class _Meter:
    point_id: int
    plan: Plan
    power_w: int
    meter_id: int
    serial: str
    digits: int
    registers: frozenset[int]
    installation_id: int
    installed_at: datetime


async def _meter_at(
    conn: psycopg.AsyncConnection[TupleRow], point_id: int, at: datetime
) -> tuple[bool, _Meter | None]:
    """(point exists, the meter installed at ``at``)."""
    cur = await conn.execute(
        """SELECT p.id, p.tariff_plan, round(p.permitted_power_kw * 1000)::bigint,
                  m.id, m.serial, m.digits, m.registers, i.id, i.installed_at
           FROM metering_points p
           LEFT JOIN meter_installations i ON i.point_id = p.id AND i.installed_at <= %s
                AND (i.removed_at IS NULL OR i.removed_at > %s)
           LEFT JOIN meters m ON m.id = i.meter_id
           WHERE p.id = %s""",
        (at, at, point_id),
    )
    row = await cur.fetchone()
    if row is None:
        return False, None
    pid, plan, power_w, meter_id, serial, digits, registers, inst_id, installed_at = row
    if meter_id is None:
        return True, None
    return True, _Meter(
        point_id=pid,
        plan=Plan(plan),
        power_w=int(power_w),
        meter_id=meter_id,
        serial=serial,
        digits=digits,
        registers=frozenset(registers),
        installation_id=inst_id,
        installed_at=installed_at,
    )


def expected_registers(plan: Plan, registers: frozenset[int]) -> tuple[int, ...] | None:
    """The registers a consumer reads: one per zone, or the total of a
    single-register meter on a multi-zone plan; None if the meter does not fit."""
    wanted = plan_registers(plan)
    if set(wanted) <= registers:
        return wanted
    if 0 in registers:
        return (0,)
    return None


async def _zone_names(
    conn: psycopg.AsyncConnection[TupleRow], plan: Plan, on: date
) -> dict[int, str]:
    cur = await conn.execute(
        """SELECT DISTINCT ON (register) register, zone FROM tariff_calendars
           WHERE plan = %s AND effective_from <= %s ORDER BY register, effective_from DESC""",
        (plan.value, on),
    )
    return {register: zone for register, zone in await cur.fetchall()}


async def _install_values(
    conn: psycopg.AsyncConnection[TupleRow], installation_id: int
) -> dict[int, int]:
    cur = await conn.execute(
        "SELECT register, at_install_wh FROM installation_values WHERE installation_id = %s",
        (installation_id,),
    )
    return {register: wh for register, wh in await cur.fetchall()}


async def _openings(
    conn: psycopg.AsyncConnection[TupleRow], meter: _Meter, period: date
) -> dict[int, int]:
    """The opening of ``period`` per register on this meter: the period's own result,
    else the previous period's closing."""
    cur = await conn.execute(
        """SELECT DISTINCT ON (register) register,
                  CASE WHEN period = %(period)s THEN opening_wh ELSE closing_wh END
           FROM period_reads
           WHERE point_id = %(point)s AND superseded_at IS NULL
             AND ((period = %(period)s AND opening_meter_id = %(meter)s)
                  OR (period = %(prev)s AND closing_meter_id = %(meter)s))
           ORDER BY register, period DESC""",
        {
            "period": period,
            "prev": add_months(period, -1),
            "point": meter.point_id,
            "meter": meter.meter_id,
        },
    )
    return {r: wh for r, wh in await cur.fetchall() if wh is not None}


async def preview_submission(
    conn: psycopg.AsyncConnection[TupleRow],
    *,
    point_id: int,
    values_kwh: Mapping[int, int],
    at: datetime,
) -> SubmissionPreview:
    """Check a consumer's values (register -> whole kWh) and show what they mean."""
    if at.tzinfo is None or at.utcoffset() is None:
        return _rejected(point_id, at, "the submission time must be timezone-aware")
    exists, meter = await _meter_at(conn, point_id, at)
    if not exists:
        return _rejected(point_id, at, f"no metering point {point_id}")
    if meter is None:
        return _rejected(point_id, at, "no meter is installed at this point")
    errors: list[str] = []
    if at > datetime.now(UTC) + FUTURE_TOLERANCE:
        errors.append("the submission time is in the future")
    registers = expected_registers(meter.plan, meter.registers)
    if registers is None:
        errors.append(f"meter {meter.serial} does not match the {meter.plan.value} plan")
        registers = ()
    elif set(values_kwh) != set(registers):
        errors.append(
            f"meter {meter.serial} needs {len(registers)} value(s), one per zone"
            f" (registers {list(registers)}); got registers {sorted(values_kwh)}"
        )
    policy = await load_policy_async(conn)
    period = billing_period_for_reading(at, policy)
    names = await _zone_names(conn, meter.plan, at.date())
    previous = await last_reads(conn, meter_id=meter.meter_id, registers=registers, at=at)
    controller = await last_reads(
        conn, meter_id=meter.meter_id, registers=registers, at=at, sources=(Source.CONTROLLER,)
    )
    installs = await _install_values(conn, meter.installation_id)
    openings = await _openings(conn, meter, period)
    zones = []
    for register in registers:
        zone = _zone(
            meter,
            register,
            names.get(register, "total" if register == 0 else str(register)),
            values_kwh.get(register),
            at,
            previous.get(register),
            controller.get(register),
            installs.get(register),
            openings.get(register),
            policy.load_factor_pct,
        )
        zones.append(zone)
        errors.extend(f"{zone.zone}: {e}" for e in zone.errors)
    return SubmissionPreview(
        point_id=point_id,
        meter_id=meter.meter_id,
        serial=meter.serial,
        digits=meter.digits,
        at=at,
        period=period,
        zones=tuple(zones),
        errors=tuple(errors),
    )


def _zone(
    meter: _Meter,
    register: int,
    name: str,
    value_kwh: int | None,
    at: datetime,
    previous: LastRead | None,
    controller: LastRead | None,
    install_wh: int | None,
    opening_wh: int | None,
    load_factor_pct: int,
) -> ZonePreview:
    errors: list[str] = []
    prev_wh, prev_at, prev_source = None, None, None
    if previous is not None:
        prev_wh, prev_at, prev_source = previous.value_wh, previous.at, str(previous.source)
    elif install_wh is not None:
        prev_wh, prev_at, prev_source = install_wh, meter.installed_at, "install"
    since_controller = total = None
    rollover = rollover_wh(meter.digits)
    if value_kwh is None:
        errors.append("no value")
    elif type(value_kwh) is not int or not fits_digits(value_kwh, meter.digits):
        errors.append(f"{value_kwh!r} is not a whole number of at most {meter.digits} digits")
    else:
        new_wh = value_kwh * KWH
        if previous is not None and previous.at == at:
            errors.append(f"a {previous.source} reading of this instant already exists")
        if prev_wh is not None and prev_at is not None:
            cap = cap_wh(meter.power_w, at - prev_at, load_factor_pct)
            step = advance(prev_wh, new_wh, rollover=rollover, cap=cap, whole_kwh=True)
            if step.step == Step.DROP:
                errors.append(
                    f"{value_kwh} kWh is below the last reading {prev_wh // KWH} kWh of"
                    f" {prev_at:%Y-%m-%d} ({prev_source})"
                )
            elif step.step == Step.IMPLAUSIBLE:
                errors.append(
                    f"{value_kwh} kWh means {step.wh // KWH} kWh since {prev_at:%Y-%m-%d},"
                    " more than the permitted power allows"
                )
        if controller is not None:
            since = advance(
                controller.value_wh, new_wh, rollover=rollover, cap=rollover // 10, whole_kwh=True
            )
            since_controller = since.wh if since.ok else None
        if opening_wh is not None:
            step_total = advance(
                opening_wh, new_wh, rollover=rollover, cap=rollover // 10, whole_kwh=True
            )
            total = step_total.wh if step_total.ok else None
    return ZonePreview(
        register=register,
        zone=name,
        value_kwh=value_kwh,
        previous_wh=prev_wh,
        previous_at=prev_at,
        previous_source=prev_source,
        since_controller_wh=since_controller,
        period_total_wh=total,
        errors=tuple(errors),
    )


def _rejected(point_id: int, at: datetime, error: str) -> SubmissionPreview:
    return SubmissionPreview(
        point_id=point_id,
        meter_id=None,
        serial=None,
        digits=None,
        at=at,
        period=None,
        zones=(),
        errors=(error,),
    )


async def confirm_submission(
    conn: psycopg.AsyncConnection[TupleRow],
    *,
    point_id: int,
    values_kwh: Mapping[int, int],
    at: datetime,
    submitted_by: str,
) -> int:
    """Check again and store the readings (source consumer); returns the
    submission id. Raises ``SubmissionRejected`` with the errors."""
    async with conn.transaction():
        await conn.execute("SELECT 1 FROM metering_points WHERE id = %s FOR UPDATE", (point_id,))
        preview = await preview_submission(conn, point_id=point_id, values_kwh=values_kwh, at=at)
        if preview.errors:
            raise SubmissionRejected(preview.errors)
        assert preview.meter_id is not None
        registers = [z.register for z in preview.zones]
        values = [values_kwh[r] * KWH for r in registers]
        cur = await conn.execute(
            "INSERT INTO consumer_submissions (point_id, meter_id, submitted_at, submitted_by,"
            " registers, values_wh) VALUES (%s, %s, %s, %s, %s, %s) RETURNING id",
            (point_id, preview.meter_id, at, submitted_by, registers, values),
        )
        row = await cur.fetchone()
        assert row is not None
        submission_id = int(row[0])
        await store_rows(
            conn,
            [
                (preview.meter_id, r, at, Source.CONSUMER.db_code, v, int(Quality.VALID),
                 f"submission:{submission_id}")
                for r, v in zip(registers, values, strict=True)
            ],
        )  # fmt: skip
    return submission_id
