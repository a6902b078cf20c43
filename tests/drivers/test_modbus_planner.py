"""The request planner: covers everything, respects the limits, and is minimal (brute force)."""

from __future__ import annotations

from collections import deque
from dataclasses import dataclass

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from typer.testing import CliRunner

from drivers.errors import ConfigurationError
from drivers.modbus import PROFILES, FunctionCode, ReadRequest, plan_reads
from gateway.cli import app


@dataclass(frozen=True, kw_only=True)
class _Span:
    function: FunctionCode
    address: int
    width: int


def _brute_force_min_reads(spans: list[_Span], max_gap: int, max_count: int) -> int:
    """Fewest reads by exhaustive search: breadth-first over sets of covered spans.

    Candidate reads are every address interval from a span's start to a span's end
    that obeys the rule checked register by register (any valid read shrinks to
    one of these without losing a fully covered span).
    """
    total = 0
    for function in {s.function for s in spans}:
        items = sorted((s for s in spans if s.function == function), key=lambda s: s.address)
        used = {a for s in items for a in range(s.address, s.address + s.width)}
        candidates = set()
        for first in items:
            for last in items:
                start, end = first.address, last.address + last.width
                if end <= start or end - start > max_count:
                    continue
                run = longest = 0
                for address in range(start, end):
                    run = 0 if address in used else run + 1
                    longest = max(longest, run)
                if longest > max_gap:
                    continue
                candidates.add(
                    sum(
                        1 << i
                        for i, s in enumerate(items)
                        if start <= s.address and s.address + s.width <= end
                    )
                )
        full = (1 << len(items)) - 1
        depth = {0: 0}
        queue = deque([0])
        while full not in depth:
            mask = queue.popleft()
            for candidate in candidates:
                if (nxt := mask | candidate) not in depth:
                    depth[nxt] = depth[mask] + 1
                    queue.append(nxt)
        total += depth[full]
    return total


@st.composite
def _layouts(draw: st.DrawFn) -> tuple[list[_Span], int, int]:
    max_count = draw(st.one_of(st.just(125), st.integers(4, 40)))
    max_gap = draw(st.integers(0, 12))
    spans: list[_Span] = []
    for function in draw(st.sets(st.sampled_from(list(FunctionCode)), min_size=1)):
        address = draw(st.integers(0, 30))
        for _ in range(draw(st.integers(1, 8))):
            width = draw(st.sampled_from([1, 2, 2, 4]))
            spans.append(_Span(function=function, address=address, width=width))
            address += width + draw(st.one_of(st.integers(0, 14), st.integers(0, 200)))
    return spans, max_gap, max_count


def _check_plan(
    plan: tuple[ReadRequest[_Span], ...], spans: list[_Span], max_gap: int, max_count: int
) -> None:
    covered = [s for read in plan for s in read.covers]
    assert sorted(covered, key=id) == sorted(spans, key=id)  # every span exactly once
    for read in plan:
        assert 1 <= read.count <= max_count
        first, last = read.covers[0], read.covers[-1]
        assert read.address == first.address
        assert read.address + read.count == last.address + last.width
        for a, b in zip(read.covers, read.covers[1:], strict=False):
            assert a.function == b.function == read.function
            assert 0 <= b.address - (a.address + a.width) <= max_gap


@settings(max_examples=300, deadline=None)
@given(_layouts())
def test_plan_is_valid_and_as_short_as_brute_force(layout: tuple[list[_Span], int, int]) -> None:
    spans, max_gap, max_count = layout
    plan = plan_reads(spans, max_gap=max_gap, max_count=max_count)
    _check_plan(plan, spans, max_gap, max_count)
    assert len(plan) == _brute_force_min_reads(spans, max_gap, max_count)


def test_brute_force_sees_a_cheaper_plan_than_one_read_per_span() -> None:
    """Guard the oracle itself: it must find merges, not just count spans."""
    spans = [_Span(function=FunctionCode.READ_INPUT, address=a, width=2) for a in (0, 2, 10)]
    assert _brute_force_min_reads(spans, max_gap=0, max_count=125) == 2
    assert _brute_force_min_reads(spans, max_gap=6, max_count=125) == 1
    assert _brute_force_min_reads(spans, max_gap=6, max_count=4) == 2


def test_mt32_bridges_its_reserved_block_only_when_allowed() -> None:
    registers = PROFILES["mt32"].registers
    one = plan_reads(registers, max_gap=6)
    assert [(r.address, r.count, r.unused) for r in one] == [(0x0100, 26, 6)]
    two = plan_reads(registers, max_gap=5)
    assert [(r.address, r.count) for r in two] == [(0x0100, 10), (0x0110, 10)]


def test_125_register_limit_splits_reads() -> None:
    spans = [
        _Span(function=FunctionCode.READ_HOLDING, address=a, width=2) for a in range(0, 300, 2)
    ]
    plan = plan_reads(spans, max_gap=0)
    assert [r.count for r in plan] == [124, 124, 52]


def test_overlap_and_bad_limits_are_refused() -> None:
    spans = [_Span(function=FunctionCode.READ_INPUT, address=a, width=2) for a in (0, 1)]
    with pytest.raises(ConfigurationError, match="overlap"):
        plan_reads(spans, max_gap=0)
    with pytest.raises(ConfigurationError, match="max_count"):
        plan_reads([], max_gap=0, max_count=126)
    with pytest.raises(ConfigurationError, match="max_gap"):
        plan_reads([], max_gap=-1)


def test_cli_prints_one_line_per_read() -> None:
    result = CliRunner().invoke(app, ["modbus", "plan", "mt32", "--max-gap", "4"])
    assert result.exit_code == 0, result.output
    reads = [line for line in result.output.splitlines() if line.startswith("fc=")]
    assert reads == [
        "fc=03 start=0x0100 count=10 unused=0 covers="
        "1.8.0@0x0100 1.8.1@0x0102 1.8.2@0x0104 1.8.3@0x0106 1.8.4@0x0108",
        "fc=03 start=0x0110 count=10 unused=0 covers="
        "2.8.0@0x0110 2.8.1@0x0112 2.8.2@0x0114 2.8.3@0x0116 2.8.4@0x0118",
    ]


def test_cli_rejects_an_unknown_profile() -> None:
    result = CliRunner().invoke(app, ["modbus", "plan", "nope"])
    assert result.exit_code == 2
    assert "unknown Modbus profile" in result.output
