"""The company's reading rules as data (one row of ``reconcile_policy``).

Defaults follow DOMAIN.md: cut-off the 1st at 00:00 Europe/Kyiv; consumer
readings count from 2 days before the cut-off through the 3rd; automatic reads
interpolated to the cut-off beat a consumer reading in the window, which beats a
controller reading carried at the average daily rate, which beats an estimate.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, fields
from datetime import time, timedelta
from typing import Literal

import psycopg
from psycopg.rows import TupleRow

SourceKind = Literal["auto", "consumer", "controller", "estimate"]
DEFAULT_PRECEDENCE: tuple[SourceKind, ...] = ("auto", "consumer", "controller", "estimate")


@dataclass(frozen=True, slots=True, kw_only=True)
class Policy:
    """Reading rules; every field is a column of ``reconcile_policy``."""

    cutoff_day: int = 1
    cutoff_time: time = time(0)
    window_before_days: int = 2
    """Consumer readings count from this many days before the cut-off date …"""
    window_until_day: int = 3
    """… through the end of this day of the cut-off month (some companies: 4)."""
    precedence: tuple[SourceKind, ...] = DEFAULT_PRECEDENCE
    divergence_wh: int = 10_000
    """Sources may disagree by this much (or ``divergence_pct`` of the period's
    consumption, whichever is larger) before a review flag is raised."""
    divergence_pct: int = 10
    load_factor_pct: int = 100
    """Plausibility cap: permitted power × hours × this share."""
    estimation_periods: int = 3
    estimation_last_year: bool = True
    interpolation_span: timedelta = timedelta(hours=48)
    """Automatic reads around a cut-off at most this far apart are interpolated."""
    auto_carry_max: timedelta = timedelta(hours=24)
    """A one-sided automatic read this close to the cut-off is carried to it."""
    controller_max_days: int = 31
    clock_drift: timedelta = timedelta(minutes=15)
    """An automatic read stamped this far ahead of its arrival has a drifting clock."""
    split_max_interval: timedelta = timedelta(hours=1)
    """Interval reads further apart are not split into zones by the calendar."""

    def __post_init__(self) -> None:
        if not 1 <= self.cutoff_day <= 28:
            raise ValueError("cutoff_day must be 1..28")
        if not self.cutoff_day <= self.window_until_day <= 28:
            raise ValueError("window_until_day must be between cutoff_day and 28")
        if not self.precedence or len(set(self.precedence)) != len(self.precedence):
            raise ValueError("precedence must name each source at most once")
        if not set(self.precedence) <= set(DEFAULT_PRECEDENCE):
            raise ValueError(f"precedence may only name {DEFAULT_PRECEDENCE}")
        if min(self.divergence_wh, self.divergence_pct, self.load_factor_pct) < 0:
            raise ValueError("tolerances must not be negative")


_COLUMNS = tuple(f.name for f in fields(Policy))


async def load_policy_async(conn: psycopg.AsyncConnection[TupleRow]) -> Policy:
    cur = await conn.execute(f"SELECT {', '.join(_COLUMNS)} FROM reconcile_policy")
    return _from_row(await cur.fetchone())


def load_policy(conn: psycopg.Connection[TupleRow]) -> Policy:
    """The stored policy (defaults when the row was never changed)."""
    return _from_row(conn.execute(f"SELECT {', '.join(_COLUMNS)} FROM reconcile_policy").fetchone())


def save_policy(conn: psycopg.Connection[TupleRow], policy: Policy, *, actor: str) -> None:
    """Replace the stored policy (audited)."""
    values = [
        list(v) if isinstance(v, tuple) else v for v in (getattr(policy, c) for c in _COLUMNS)
    ]
    assignments = ", ".join(f"{c} = %s" for c in _COLUMNS)
    with conn.transaction():
        conn.execute(
            f"UPDATE reconcile_policy SET {assignments}, updated_at = now(), updated_by = %s",
            [*values, actor],
        )
        conn.execute(
            "INSERT INTO audit_log (actor, action, entity, entity_id, details)"
            " VALUES (%s, 'policy.update', 'reconcile_policy', '1', %s::jsonb)",
            (actor, _json(policy)),
        )


def _json(policy: Policy) -> str:
    return json.dumps({c: str(getattr(policy, c)) for c in _COLUMNS}, sort_keys=True)


def _from_row(row: tuple[object, ...] | None) -> Policy:
    if row is None:
        return Policy()
    values = dict(zip(_COLUMNS, row, strict=True))
    values["precedence"] = tuple(values["precedence"])  # type: ignore[arg-type]
    return Policy(**values)  # type: ignore[arg-type]
