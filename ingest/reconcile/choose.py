"""Candidate values at a cut-off, one per source, and the checks on single reads.

Each source yields at most one candidate value *at the cut-off instant*:

- auto: the automatic reads either side interpolated to the cut-off (a read at
  the cut-off is taken as is); a one-sided read close to it is carried;
- consumer: the latest consumer reading in the cut-off's window, counted as is;
- controller: the controller reading nearest the cut-off, carried to it at the
  average daily rate;
- estimate and correction: see ``compute``.

A read dated in the future, or an automatic read stamped ahead of its arrival
(a fast clock), is flagged and not used. Instants are ``Micros`` (see
``candidates``); ``local`` formats one for a reason.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from functools import lru_cache
from typing import NamedTuple

from drivers.domain import KYIV
from ingest.reconcile.candidates import Evidence, Micros, instant, micros
from ingest.reconcile.estimation import DAY_US, daily_rate
from ingest.reconcile.flags import FlagDraft, FlagKind
from ingest.reconcile.periods import PeriodBounds
from ingest.reconcile.policy import Policy
from ingest.reconcile.validation import Advance, Step, advance, cap_us, rollover_wh, scale

_SOURCE_NAMES = {1: "auto", 2: "consumer", 3: "controller"}


@dataclass(frozen=True, slots=True, kw_only=True)
class Context:
    """What every decision of one run over one period needs, instants in Micros."""

    bounds: PeriodBounds
    policy: Policy
    now: Micros
    last_year_days: int
    c0: Micros
    c1: Micros
    open_window: tuple[Micros, Micros]
    close_window: tuple[Micros, Micros]
    span: Micros
    carry_max: Micros
    controller_max: Micros
    drift: Micros

    @classmethod
    def build(
        cls, bounds: PeriodBounds, policy: Policy, now: datetime, last_year_days: int
    ) -> Context:
        us = micros
        return cls(
            bounds=bounds,
            policy=policy,
            now=us(now),
            last_year_days=last_year_days,
            c0=us(bounds.start),
            c1=us(bounds.end),
            open_window=(us(bounds.opening.window_start), us(bounds.opening.window_end)),
            close_window=(us(bounds.closing.window_start), us(bounds.closing.window_end)),
            span=us(bounds.start + policy.interpolation_span) - us(bounds.start),
            carry_max=us(bounds.start + policy.auto_carry_max) - us(bounds.start),
            controller_max=policy.controller_max_days * DAY_US,
            drift=us(bounds.start + policy.clock_drift) - us(bounds.start),
        )


class Read(NamedTuple):
    source: str
    at: Micros
    wh: int
    rx: Micros | None = None
    """When an automatic read was received."""


class Value(NamedTuple):
    """A register value at an instant, with where it came from and why."""

    wh: int
    at: Micros
    source: str
    """auto | consumer | controller | estimate | correction | install | removal,
    or the previous period's source when chained."""
    reason: str
    estimated: bool = False
    whole_kwh: bool = False
    """Read in whole kWh (consumer, controller): up to 999 Wh low."""


class Rate(NamedTuple):
    """Average consumption: ``wh`` over ``span`` microseconds."""

    wh: int
    span: Micros
    why: str

    def over(self, span: Micros) -> int:
        return scale(self.wh, span, self.span) if self.span > 0 else 0


@dataclass(slots=True)
class Notes:
    """Flags and remarks collected while deciding one register."""

    point_id: int
    register: int
    flags: list[FlagDraft] = field(default_factory=list)
    skipped: list[str] = field(default_factory=list)
    quiet: bool = False
    """Only the values matter (candidates read after the choice): no reasons."""

    def flag(self, kind: FlagKind, reason: str, *, point_level: bool = False) -> None:
        draft = FlagDraft(
            point_id=self.point_id,
            register=None if point_level else self.register,
            kind=kind,
            reason=reason,
        )
        if draft not in self.flags:
            self.flags.append(draft)


@lru_cache(maxsize=65_536)
def local(at: Micros) -> str:
    """An instant as Kyiv wall-clock text, for reasons."""
    return instant(at).astimezone(KYIV).strftime("%Y-%m-%d %H:%M")


def usable(read: Read | None, ctx: Context, notes: Notes) -> Read | None:
    """The read, unless it is dated in the future or its clock drifts (flagged)."""
    if read is None:
        return None
    if read.at > ctx.now:
        notes.flag(
            FlagKind.FUTURE_READ,
            f"{read.source} read of {read.wh} Wh dated {local(read.at)}, in the future",
        )
        return None
    if read.rx is not None and read.at - read.rx > ctx.drift:
        notes.flag(
            FlagKind.CLOCK_DRIFT,
            f"automatic read stamped {local(read.at)} arrived at {local(read.rx)}:"
            " the meter's clock runs ahead",
        )
        return None
    return read


def cap_for(ev: Evidence, ctx: Context, span: Micros) -> int:
    return cap_us(ev.power_w, span, ctx.policy.load_factor_pct)


def step(ev: Evidence, ctx: Context, start: Value, end: Value) -> Advance:
    """The advance from ``start`` to ``end`` on this meter. After an estimated
    start a rise is not capped (the catch-up may exceed one period's worth); a
    drop is still a rollover only when plausible."""
    adv = advance(
        start.wh,
        end.wh,
        rollover=rollover_wh(ev.digits),
        cap=cap_for(ev, ctx, end.at - start.at),
        whole_kwh=end.whole_kwh,
    )
    if start.estimated and adv.step == Step.IMPLAUSIBLE:
        return Advance(Step.UP, adv.wh)
    return adv


def _rise(ev: Evidence, ctx: Context, start_wh: int, start_at: Micros, read: Read) -> Advance:
    return advance(
        start_wh,
        read.wh,
        rollover=rollover_wh(ev.digits),
        cap=cap_for(ev, ctx, read.at - start_at),
    )


def rate_hint(ev: Evidence, ctx: Context, opening: Value | None, read: Read) -> Rate | None:
    """The average rate to carry ``read`` to a cut-off: from an actual opening
    before the read, else the point's history, else the period's automatic reads."""
    if opening is not None and not opening.estimated and opening.at < read.at:
        adv = _rise(ev, ctx, opening.wh, opening.at, read)
        if adv.ok:
            return Rate(adv.wh, read.at - opening.at, f"since the opening of {local(opening.at)}")
    history = daily_rate(ev.ly_wh, ev.hist_wh, ev.hist_days, ctx.policy, ctx.last_year_days)
    if history is not None:
        wh, days, why = history
        return Rate(wh, days * DAY_US, why)
    first_at, first_wh, last_at, last_wh = ev.aa0_at, ev.aa0_wh, ev.ab1_at, ev.ab1_wh
    if first_at is not None and last_at is not None and first_wh is not None and first_at < last_at:
        assert last_wh is not None
        adv = _rise(ev, ctx, first_wh, first_at, Read("auto", last_at, last_wh))
        if adv.ok:
            return Rate(adv.wh, last_at - first_at, "from the period's automatic reads")
    return None


def carry(
    ev: Evidence, ctx: Context, read: Read, at: Micros, opening: Value | None, *, quiet: bool
) -> tuple[int, str]:
    """``read`` carried to ``at`` at the average daily rate; the value and how
    (``quiet``: no how)."""
    if read.at == at:
        return read.wh, "" if quiet else f"read at {local(at)}"
    rate = rate_hint(ev, ctx, opening, read)
    if rate is None:
        return read.wh, "" if quiet else f"read {local(read.at)}, no rate known: carried flat"
    wh = (read.wh + rate.over(at - read.at)) % rollover_wh(ev.digits)
    if quiet:
        return wh, ""
    return wh, (
        f"read {local(read.at)} carried {(at - read.at) / DAY_US:+.2f} days at"
        f" {rate.over(DAY_US)} Wh/day ({rate.why})"
    )


def auto_value(
    ev: Evidence,
    ctx: Context,
    at: Micros,
    before: Read | None,
    after: Read | None,
    opening: Value | None,
    notes: Notes,
) -> Value | None:
    """Automatic reads interpolated to ``at`` (or one close read carried to it)."""
    before, after = usable(before, ctx, notes), usable(after, ctx, notes)
    if before is not None and before.at == at:
        return Value(before.wh, at, "auto", "automatic read at the cut-off")
    if before is not None and after is not None and after.at - before.at <= ctx.span:
        adv = _rise(ev, ctx, before.wh, before.at, after)
        if adv.ok:
            wh = (before.wh + scale(adv.wh, at - before.at, after.at - before.at)) % rollover_wh(
                ev.digits
            )
            if notes.quiet:
                return Value(wh, at, "auto", "")
            return Value(
                wh,
                at,
                "auto",
                f"automatic reads of {local(before.at)} and {local(after.at)}"
                " interpolated to the cut-off",
            )
        notes.skipped.append(
            f"auto (reads of {local(before.at)} and {local(after.at)} do not rise plausibly)"
        )
        return None
    near = [r for r in (before, after) if r is not None and abs(r.at - at) <= ctx.carry_max]
    if near:
        read = min(near, key=lambda r: abs(r.at - at))
        wh, how = carry(ev, ctx, read, at, opening, quiet=notes.quiet)
        return Value(wh, at, "auto", f"automatic {how}")
    notes.skipped.append("auto (no automatic reads around the cut-off)")
    return None


def auto_reads(ev: Evidence, closing: bool) -> tuple[Read | None, Read | None]:
    """The automatic reads before/after the closing (or opening) cut-off."""
    if closing:
        b_at, b_wh, b_rx, a_at, a_wh, a_rx = (
            ev.ab1_at, ev.ab1_wh, ev.ab1_rx, ev.aa1_at, ev.aa1_wh, ev.aa1_rx,
        )  # fmt: skip
    else:
        b_at, b_wh, b_rx, a_at, a_wh, a_rx = (
            ev.ab0_at, ev.ab0_wh, ev.ab0_rx, ev.aa0_at, ev.aa0_wh, ev.aa0_rx,
        )  # fmt: skip
    before = None if b_at is None or b_wh is None else Read("auto", b_at, b_wh, b_rx)
    after = None if a_at is None or a_wh is None else Read("auto", a_at, a_wh, a_rx)
    return before, after


def manual_reads(ev: Evidence) -> tuple[Read, ...]:
    """Consumer and controller reads of this meter while installed here, oldest first."""
    if not ev.m_sources:
        return ()
    assert ev.m_ats is not None
    assert ev.m_values is not None
    removed = ev.removed_at
    return tuple(
        Read(_SOURCE_NAMES[source], at, wh)
        for source, at, wh in zip(ev.m_sources, ev.m_ats, ev.m_values, strict=True)
        if at >= ev.installed_at and (removed is None or at < removed)
    )


def consumer_value(
    manual: tuple[Read, ...],
    ctx: Context,
    window: tuple[Micros, Micros],
    at: Micros,
    notes: Notes,
) -> Value | None:
    """The latest consumer reading in the cut-off's window, counted at the cut-off."""
    start, end = window
    reads = [
        r
        for r in manual
        if r.source == "consumer" and start <= r.at < end and usable(r, ctx, notes)
    ]
    if not reads:
        notes.skipped.append("consumer (no reading in the window)")
        return None
    read = reads[-1]
    why = "" if notes.quiet else f"consumer reading of {local(read.at)} in the submission window"
    return Value(read.wh, at, "consumer", why, whole_kwh=True)


def controller_value(
    ev: Evidence,
    manual: tuple[Read, ...],
    ctx: Context,
    at: Micros,
    opening: Value | None,
    notes: Notes,
) -> Value | None:
    """The controller reading nearest ``at`` (within the policy's days), carried to it."""
    limit = ctx.controller_max
    reads = [
        r
        for r in manual
        if r.source == "controller" and abs(r.at - at) <= limit and usable(r, ctx, notes)
    ]
    if not reads:
        notes.skipped.append("controller (no reading near the cut-off)")
        return None
    read = min(reads, key=lambda r: (abs(r.at - at), r.at))
    wh, how = carry(ev, ctx, read, at, opening, quiet=notes.quiet)
    return Value(wh, at, "controller", f"controller {how}", whole_kwh=True)


def check_duplicates(manual: tuple[Read, ...], notes: Notes) -> None:
    """The same instant read by two sources with different values (VEE: duplicates)."""
    if len(manual) < 2:
        return
    by_instant: dict[Micros, Read] = {}
    for read in manual:
        other = by_instant.setdefault(read.at, read)
        if other is not read and other.source != read.source and other.wh != read.wh:
            notes.flag(
                FlagKind.DUPLICATE_CONFLICT,
                f"{other.source} and {read.source} readings of {local(read.at)} disagree:"
                f" {other.wh} Wh vs {read.wh} Wh",
            )
