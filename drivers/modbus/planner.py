"""The request planner: one device's registers merged into the fewest reads.

Rule: a read covers whole registers of one function code, spans at most
``max_count`` (125) registers counting the unused ones inside it, and may bridge
a run of at most ``max_gap`` unused registers between two registers it covers.

Why one greedy sweep is minimal: sort one function's registers by address. A
read is an address interval, so the registers it covers are a contiguous run of
that order, and any sub-run of a valid run is valid (its span and its gaps only
shrink). For such "hereditary runs", closing a read only when the next register
does not fit leaves every greedy read ending at or after the matching read of
any other plan (induction on the read number), so no plan needs fewer reads.
``tests/drivers/test_modbus_planner.py`` checks this against an exhaustive search.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from typing import Generic, Protocol, TypeVar

from drivers.errors import ConfigurationError
from drivers.modbus.profile import FunctionCode

MAX_READ_REGISTERS = 125
"""Modbus limit for one read of holding/input registers (functions 03/04)."""


class Span(Protocol):
    """Anything that occupies ``width`` registers from ``address`` under a function code."""

    @property
    def function(self) -> FunctionCode: ...

    @property
    def address(self) -> int: ...

    @property
    def width(self) -> int: ...


S = TypeVar("S", bound=Span)


@dataclass(frozen=True, kw_only=True)
class ReadRequest(Generic[S]):
    """One read: ``count`` registers from ``address`` with ``function``, covering ``covers``."""

    function: FunctionCode
    address: int
    count: int
    covers: tuple[S, ...]

    def words_for(self, span: S, words: Sequence[int]) -> Sequence[int]:
        """The slice of this read's answer that belongs to ``span``."""
        start = span.address - self.address
        return words[start : start + span.width]

    @property
    def unused(self) -> int:
        """Registers read but not covered (the bridged gaps)."""
        return self.count - sum(s.width for s in self.covers)


def plan_reads(
    spans: Iterable[S], *, max_gap: int, max_count: int = MAX_READ_REGISTERS
) -> tuple[ReadRequest[S], ...]:
    """The minimal plan for ``spans``: reads ordered by function code, then address."""
    if max_gap < 0:
        raise ConfigurationError(f"max_gap must be >= 0, got {max_gap}")
    if not 1 <= max_count <= MAX_READ_REGISTERS:
        raise ConfigurationError(f"max_count must be 1..{MAX_READ_REGISTERS}, got {max_count}")
    by_function: dict[FunctionCode, list[S]] = {}
    for span in spans:
        if span.width > max_count:
            raise ConfigurationError(f"a {span.width}-register value exceeds max_count")
        by_function.setdefault(span.function, []).append(span)
    plan: list[ReadRequest[S]] = []
    for function in sorted(by_function):
        plan.extend(_sweep(function, by_function[function], max_gap, max_count))
    return tuple(plan)


def _sweep(
    function: FunctionCode, spans: list[S], max_gap: int, max_count: int
) -> list[ReadRequest[S]]:
    """Greedy left-to-right sweep over one function's spans: extend the read while it fits."""
    runs: list[list[S]] = []
    for span in sorted(spans, key=lambda s: s.address):
        run = runs[-1] if runs else None
        if run is None:
            runs.append([span])
            continue
        end = run[-1].address + run[-1].width
        if span.address < end:
            raise ConfigurationError(f"registers overlap at {span.address:#06x}")
        gap_ok = span.address - end <= max_gap
        if gap_ok and span.address + span.width - run[0].address <= max_count:
            run.append(span)
        else:
            runs.append([span])
    return [_request(function, run) for run in runs]


def _request(function: FunctionCode, run: list[S]) -> ReadRequest[S]:
    start = run[0].address
    count = run[-1].address + run[-1].width - start
    return ReadRequest(function=function, address=start, count=count, covers=tuple(run))
