"""One point's period: opening and closing per register, consumption, source and status.

The period splits into segments, one per meter installed at the point during
it; each segment's ends come from ``cutoffs``. Consumption is the sum of the
segments' advances. The meter's registers must fit the tariff plan; a
single-register meter on a multi-zone plan gets its total split into zones by
its interval reads (``split``). Status: corrected, disputed (an open flag
applies, or no figure), estimated, else actual.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import date
from functools import lru_cache
from typing import Any, NamedTuple

from drivers.domain import Plan, plan_registers
from ingest.reconcile.candidates import Evidence, Micros, instant
from ingest.reconcile.choose import Context, Notes, Value, check_duplicates, manual_reads, step
from ingest.reconcile.cutoffs import CHAINED, closing_value, opening_value, reject, removal_value
from ingest.reconcile.flags import FlagDraft, FlagKind, StoredFlags, is_open
from ingest.reconcile.split import distribute
from ingest.reconcile.validation import Advance, Step

PLAN_REGISTERS = {plan.value: frozenset(plan_registers(plan)) for plan in Plan}


class PeriodResult(NamedTuple):
    """One version's content of a point's period result for one register
    (instants in Micros; ``versions`` writes them as timestamptz)."""

    point_id: int
    period: date
    register: int
    zone: str
    billed: bool
    """False for the total register of a split meter: its zone rows are billed."""
    opening_at: Micros | None
    opening_wh: int | None
    opening_meter_id: int | None
    opening_source: str | None
    closing_at: Micros | None
    closing_wh: int | None
    closing_meter_id: int | None
    consumption_wh: int | None
    source: str
    reason: str
    status: str
    detail: dict[str, Any]


class PointOutcome(NamedTuple):
    results: tuple[PeriodResult, ...]
    flags: tuple[FlagDraft, ...]
    pending: bool
    """A register has no value yet and may not be estimated before the window closes."""


class Segment(NamedTuple):
    """One meter's share of a register's period."""

    meter_id: int
    serial: str
    opening: Value | None
    closing: Value | None
    advance: Advance | None

    def detail(self) -> dict[str, Any]:
        o, c, a = self.opening, self.closing, self.advance
        return {
            "meter": self.serial,
            "opening_wh": None if o is None else o.wh,
            "opening_at": None if o is None else _iso(o.at),
            "opening": None if o is None else o.source,
            "closing_wh": None if c is None else c.wh,
            "closing_at": None if c is None else _iso(c.at),
            "closing": None if c is None else c.source,
            "wh": None if a is None else a.wh,
            "step": None if a is None else str(a.step),
        }


class RegisterOutcome(NamedTuple):
    register: int
    segments: tuple[Segment, ...]
    consumption_wh: int | None
    source: str
    reason: str
    candidates: dict[str, int]
    pending: bool


@lru_cache(maxsize=65_536)
def _iso(at: Micros) -> str:
    return instant(at).isoformat()


def register_outcome(ctx: Context, segments: Sequence[Evidence], notes: Notes) -> RegisterOutcome:
    """Consumption of one register over the period, across meter replacements."""
    parts: list[Segment] = []
    candidates: dict[str, int] = {}
    pending = False
    for ev in segments:
        manual = manual_reads(ev)
        check_duplicates(manual, notes)
        opening = opening_value(ctx, ev, manual, notes)
        adv: Advance | None = None
        if ev.removed_at is not None and ev.removed_at <= ctx.c1:
            closing = removal_value(ev, notes)
            if opening is not None and closing is not None:
                adv = step(ev, ctx, opening, closing)
                if not adv.ok:
                    reject("removal", closing, opening, adv, notes)
                    adv = None
        else:
            closing, adv, candidates, pending = closing_value(ctx, ev, manual, opening, notes)
        parts.append(Segment(ev.meter_id, ev.serial, opening, closing, adv))
    last = parts[-1].closing
    known = parts[0].opening is not None and all(p.advance is not None for p in parts)
    consumption = sum(p.advance.wh for p in parts if p.advance is not None) if known else None
    reason = "no value" if last is None else last.reason
    if notes.skipped:
        reason += "; not used: " + ", ".join(notes.skipped)
    if len(parts) > 1:
        reason += "; meters: " + " then ".join(p.serial for p in parts)
    if consumption is None and not pending and not notes.flags:
        notes.flag(FlagKind.NO_DATA, "no valid reading to compute the consumption from")
    return RegisterOutcome(
        register=segments[0].register,
        segments=tuple(parts),
        consumption_wh=consumption,
        source="none" if last is None else last.source,
        reason=reason,
        candidates=candidates,
        pending=pending,
    )


def point_outcome(
    ctx: Context,
    evidence: Sequence[Evidence],
    zones: dict[tuple[str, int], str],
    split_energy: dict[int, int] | None,
    stored: StoredFlags,
) -> PointOutcome:
    """Every register result and flag of one point (its evidence rows, in order)."""
    first = evidence[0]
    point_id, plan = first.point_id, first.plan
    by_register: dict[int, list[Evidence]] = {}
    for ev in evidence:
        by_register.setdefault(ev.register, []).append(ev)
    wanted = PLAN_REGISTERS[plan]
    split = wanted != {0} and by_register.keys() == {0}
    flags: list[FlagDraft] = []
    if (not split and by_register.keys() != wanted) or any(
        not (split or ev.native) for ev in evidence
    ):
        return _mismatch(ctx, first, wanted, zones)
    outcomes: list[RegisterOutcome] = []
    for register in sorted(by_register):
        notes = Notes(point_id=point_id, register=register)
        outcomes.append(register_outcome(ctx, by_register[register], notes))
        flags.extend(notes.flags)
    if any(o.pending for o in outcomes):
        return PointOutcome(results=(), flags=tuple(flags), pending=True)
    if split:
        outcomes.extend(split_outcomes(point_id, outcomes[0], wanted, split_energy, flags))
    open_flags = [f for f in flags if is_open(stored, f)]
    results = tuple(_result(ctx, point_id, plan, o, zones, open_flags, split) for o in outcomes)
    return PointOutcome(results=results, flags=tuple(flags), pending=False)


def _mismatch(
    ctx: Context, ev: Evidence, wanted: frozenset[int], zones: dict[tuple[str, int], str]
) -> PointOutcome:
    """The meter's registers do not fit the plan: no figures, one flag."""
    flag = FlagDraft(
        point_id=ev.point_id,
        register=None,
        kind=FlagKind.ZONE_COUNT,
        reason=f"meter {ev.serial} has registers [{ev.meter_registers}]; plan {ev.plan}"
        f" needs {sorted(wanted)} or one total register with interval reads",
    )
    outcomes = [
        RegisterOutcome(r, (), None, "none", "the meter's registers do not fit the plan", {}, False)
        for r in sorted(wanted)
    ]
    results = tuple(_result(ctx, ev.point_id, ev.plan, o, zones, [flag], False) for o in outcomes)
    return PointOutcome(results=results, flags=(flag,), pending=False)


def split_outcomes(
    point_id: int,
    total: RegisterOutcome,
    wanted: frozenset[int],
    energy: dict[int, int] | None,
    flags: list[FlagDraft],
) -> list[RegisterOutcome]:
    """Zone rows of a single-register meter: its total shared out in proportion to
    the energy its interval reads put in each zone."""
    weights = {r: (energy or {}).get(r, 0) for r in sorted(wanted)}
    covered = sum(weights.values())
    shares: dict[int, int | None] = dict.fromkeys(weights)
    if total.consumption_wh is not None:
        if covered > 0:
            shares = distribute(total.consumption_wh, weights)
        elif total.consumption_wh == 0:
            shares = dict.fromkeys(weights, 0)
        else:
            flags.append(
                FlagDraft(
                    point_id=point_id,
                    register=0,
                    kind=FlagKind.NO_INTERVAL_READS,
                    reason="no interval reads to split the total register into zones",
                )
            )
    how = f"share of the total by interval reads ({covered} Wh in zone intervals)"
    return [
        RegisterOutcome(r, (), shares[r], total.source, f"{how}; total: {total.reason}", {}, False)
        for r in sorted(wanted)
    ]


def _result(
    ctx: Context,
    point_id: int,
    plan: str,
    o: RegisterOutcome,
    zones: dict[tuple[str, int], str],
    open_flags: list[FlagDraft],
    split: bool,
) -> PeriodResult:
    first = o.segments[0] if o.segments else None
    last = o.segments[-1] if o.segments else None
    opening = None if first is None else first.opening
    closing = None if last is None else last.closing
    if o.source == "correction":
        status = "corrected"
    elif o.consumption_wh is None or any(
        f.register is None or f.register == o.register or (split and f.register == 0)
        for f in open_flags
    ):
        status = "disputed"
    elif o.source == "estimate":
        status = "estimated"
    else:
        status = "actual"
    detail: dict[str, Any] = {}
    if opening is not None and opening.reason != CHAINED:
        detail["opening"] = opening.reason
    if len(o.segments) > 1:  # one segment: the columns say it all
        detail["segments"] = [s.detail() for s in o.segments]
    elif last is not None and last.advance is not None and last.advance.step != Step.UP:
        detail["step"] = str(last.advance.step)
    if len(o.candidates) > 1:
        detail["candidates"] = dict(sorted(o.candidates.items()))
    return PeriodResult(
        point_id=point_id,
        period=ctx.bounds.period,
        register=o.register,
        zone=zones.get((plan, o.register), "total" if o.register == 0 else str(o.register)),
        billed=not (split and o.register == 0),
        opening_at=None if opening is None else opening.at,
        opening_wh=None if opening is None else opening.wh,
        opening_meter_id=None if first is None or opening is None else first.meter_id,
        opening_source=None if opening is None else opening.source,
        closing_at=None if closing is None else closing.at,
        closing_wh=None if closing is None else closing.wh,
        closing_meter_id=None if last is None or closing is None else last.meter_id,
        consumption_wh=o.consumption_wh,
        source=o.source,
        reason=o.reason,
        status=status,
        detail=detail,
    )
