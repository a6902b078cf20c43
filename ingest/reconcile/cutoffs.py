"""A register's value at each end of a segment, chosen by the policy's precedence.

A segment opens at the meter's install value, at the previous period's closing
(chained), or — the first time a point is reconciled — at the value chosen at
the opening cut-off; it closes at its removal value or at the value chosen at
the closing cut-off: an operator correction first, then the policy's sources
(``choose``), an estimate last and only once the consumer window has closed.
A candidate is checked against the opening (monotonic with plausible rollover,
the plausibility cap); a rejected one raises a flag and the next source is
tried. The real sources read are compared: a spread beyond the tolerance raises
a divergence flag.
"""

from __future__ import annotations

from ingest.reconcile.candidates import Evidence
from ingest.reconcile.choose import (
    Context,
    Notes,
    Read,
    Value,
    auto_reads,
    auto_value,
    consumer_value,
    controller_value,
    local,
    step,
)
from ingest.reconcile.estimation import DAY_US, estimate_wh
from ingest.reconcile.flags import FlagKind
from ingest.reconcile.validation import Advance, Step, rollover_wh

REAL_SOURCES = frozenset(("auto", "consumer", "controller"))
CHAINED = "closing of the previous period"


def opening_value(
    ctx: Context, ev: Evidence, manual: tuple[Read, ...], notes: Notes
) -> Value | None:
    """Where a segment starts: install value, chained closing, or the opening cut-off."""
    if ev.installed_at >= ctx.c0:
        if ev.install_wh is None:
            notes.flag(
                FlagKind.MISSING_INSTALL_VALUE,
                f"meter {ev.serial} installed {local(ev.installed_at)} without an install value",
            )
            return None
        return Value(ev.install_wh, ev.installed_at, "install", f"meter {ev.serial} installed")
    if ev.prev_wh is not None and ev.prev_meter_id == ev.meter_id:
        assert ev.prev_at is not None
        assert ev.prev_source is not None
        return Value(
            ev.prev_wh,
            ev.prev_at,
            ev.prev_source,
            CHAINED,
            estimated=ev.prev_source == "estimate",
        )
    own = Notes(point_id=notes.point_id, register=notes.register)
    value: Value | None = None
    for kind in ctx.policy.precedence:
        if kind == "auto":
            before, after = auto_reads(ev, closing=False)
            value = auto_value(ev, ctx, ctx.c0, before, after, None, own)
        elif kind == "consumer":
            value = consumer_value(manual, ctx, ctx.open_window, ctx.c0, own)
        elif kind == "controller":
            value = controller_value(ev, manual, ctx, ctx.c0, None, own)
        if value is not None:
            break
    for draft in own.flags:
        notes.flag(draft.kind, draft.reason)
    if value is None:
        notes.flag(
            FlagKind.NO_OPENING,
            f"no valid reading of meter {ev.serial} at the opening cut-off {local(ctx.c0)}",
        )
    return value


def removal_value(ev: Evidence, notes: Notes) -> Value | None:
    assert ev.removed_at is not None
    if ev.removal_wh is None:
        notes.flag(
            FlagKind.MISSING_REMOVAL_VALUE,
            f"meter {ev.serial} removed {local(ev.removed_at)} without a removal value",
        )
        return None
    return Value(ev.removal_wh, ev.removed_at, "removal", f"meter {ev.serial} removed")


def flag_step(kind: str, value: Value, opening: Value, adv: Advance, notes: Notes) -> None:
    """Flag a value that does not follow plausibly from the opening."""
    if adv.step == Step.DROP:
        notes.flag(
            FlagKind.IMPLAUSIBLE_DROP,
            f"{kind} value {value.wh} Wh is below the opening {opening.wh} Wh of"
            f" {local(opening.at)} and no plausible rollover explains it",
        )
    else:
        notes.flag(
            FlagKind.IMPLAUSIBLE_CONSUMPTION,
            f"{kind} value {value.wh} Wh implies {adv.wh} Wh since {local(opening.at)},"
            " more than the permitted power allows",
        )


def reject(kind: str, value: Value, opening: Value, adv: Advance, notes: Notes) -> None:
    """Flag a candidate that is not used, and say so in the reason."""
    flag_step(kind, value, opening, adv, notes)
    why = "below the opening" if adv.step == Step.DROP else "implausible consumption"
    notes.skipped.append(f"{kind} ({why})")


def estimate_value(ctx: Context, ev: Evidence, opening: Value | None, notes: Notes) -> Value | None:
    """The opening plus the average daily consumption over the segment's days."""
    deadline = local(ctx.close_window[1])
    if opening is None:
        notes.flag(FlagKind.NO_DATA, f"no valid reading by {deadline} and no opening to estimate")
        return None
    span = ctx.bounds.days * DAY_US if opening.at == ctx.c0 else ctx.c1 - opening.at
    estimate = estimate_wh(ev.ly_wh, ev.hist_wh, ev.hist_days, ctx.policy, ctx.last_year_days, span)
    if estimate is None:
        notes.flag(FlagKind.NO_DATA, f"no valid reading by {deadline} and no history to estimate")
        return None
    wh, how = estimate
    return Value(
        (opening.wh + wh) % rollover_wh(ev.digits),
        ctx.c1,
        "estimate",
        f"no valid reading by {deadline}: estimated {wh} Wh at {how}",
        estimated=True,
    )


def _candidate(
    kind: str,
    ctx: Context,
    ev: Evidence,
    manual: tuple[Read, ...],
    opening: Value | None,
    notes: Notes,
) -> Value | None:
    if kind == "correction":
        if ev.corr_id is None or ev.corr_wh is None:
            return None
        return Value(
            ev.corr_wh,
            ctx.c1,
            "correction",
            f"operator correction #{ev.corr_id} by {ev.corr_author}: {ev.corr_reason}",
        )
    if kind == "auto":
        before, after = auto_reads(ev, closing=True)
        return auto_value(ev, ctx, ctx.c1, before, after, opening, notes)
    if kind == "consumer":
        return consumer_value(manual, ctx, ctx.close_window, ctx.c1, notes)
    if kind == "controller":
        return controller_value(ev, manual, ctx, ctx.c1, opening, notes)
    return estimate_value(ctx, ev, opening, notes)


def closing_value(
    ctx: Context, ev: Evidence, manual: tuple[Read, ...], opening: Value | None, notes: Notes
) -> tuple[Value | None, Advance | None, dict[str, int], bool]:
    """The closing at the cut-off by precedence: (value, advance, candidates, pending)."""
    chosen: tuple[Value, Advance | None] | None = None
    candidates: dict[str, int] = {}
    silent = Notes(point_id=notes.point_id, register=notes.register, quiet=True)
    for kind in ("correction", *ctx.policy.precedence):
        if chosen is not None and (kind == "estimate" or (not manual and kind != "auto")):
            continue  # after the choice only real reads matter (for divergence)
        if kind == "estimate" and ctx.now < ctx.close_window[1]:
            return None, None, candidates, True
        value = _candidate(kind, ctx, ev, manual, opening, notes if chosen is None else silent)
        if value is None:
            continue
        if kind in REAL_SOURCES:
            candidates[kind] = value.wh
        if chosen is not None:
            continue
        adv = None if opening is None else step(ev, ctx, opening, value)
        if adv is None or adv.ok or kind == "correction":
            if adv is not None and not adv.ok:  # the operator's value stands, flagged
                assert opening is not None
                flag_step(kind, value, opening, adv, notes)
            chosen = (value, adv)
        elif adv.step == Step.DROP and opening is not None and opening.estimated:
            notes.flag(
                FlagKind.ESTIMATE_OVERSHOOT,
                f"{kind} value {value.wh} Wh is {-adv.wh} Wh below the estimated opening"
                f" {opening.wh} Wh: the estimate overshot",
            )
            chosen = (value, adv)
        else:
            assert opening is not None
            reject(kind, value, opening, adv, notes)
            del candidates[kind]
    if chosen is None:
        return None, None, candidates, False
    value, adv = chosen
    if value.source in REAL_SOURCES:
        check_divergence(ctx, candidates, value, adv, notes)
    return value, adv, candidates, False


def check_divergence(
    ctx: Context, candidates: dict[str, int], chosen: Value, adv: Advance | None, notes: Notes
) -> None:
    if len(candidates) < 2:
        return
    spread = max(candidates.values()) - min(candidates.values())
    consumption = adv.wh if adv is not None else 0
    tolerance = max(ctx.policy.divergence_wh, abs(consumption) * ctx.policy.divergence_pct // 100)
    if spread > tolerance:
        values = ", ".join(f"{k} {v} Wh" for k, v in candidates.items())
        notes.flag(
            FlagKind.DIVERGENCE,
            f"sources disagree at the cut-off by {spread} Wh (tolerance {tolerance} Wh):"
            f" {values}; {chosen.source} used",
        )
