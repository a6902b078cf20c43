"""What the writer must know of each meter: its id, registers and rollover.

Loaded on demand: a batch that names serials not yet cached costs one query for
those serials; known meters cost a dict lookup.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass

import psycopg
from psycopg.rows import TupleRow


@dataclass(frozen=True, slots=True, kw_only=True)
class MeterInfo:
    id: int
    serial: str
    digits: int
    registers: frozenset[int]
    rollover_wh: int
    """A register with N integer digits rolls over at 10^N kWh (kept, not
    recomputed: the writer checks it for every reading)."""


class MeterCatalog:
    """Serial -> MeterInfo, filled from the ``meters`` table as serials appear."""

    def __init__(self) -> None:
        self.meters: dict[str, MeterInfo] = {}

    async def ensure(self, conn: psycopg.AsyncConnection[TupleRow], serials: Iterable[str]) -> None:
        """Load the serials not cached yet (unknown ones stay absent)."""
        missing = [s for s in serials if s not in self.meters]
        if not missing:
            return
        cur = await conn.execute(
            "SELECT id, serial, digits, registers FROM meters WHERE serial = ANY(%s)", (missing,)
        )
        for meter_id, serial, digits, registers in await cur.fetchall():
            self.meters[serial] = MeterInfo(
                id=meter_id,
                serial=serial,
                digits=digits,
                registers=frozenset(registers),
                rollover_wh=10**digits * 1000,
            )
        # The catalog's own read must not leave a transaction open on the pooled connection.
        await conn.rollback()

    def forget(self, serial: str | None = None) -> None:
        """Drop one meter (or all) so the next batch reloads it after a change."""
        if serial is None:
            self.meters.clear()
        else:
            self.meters.pop(serial, None)
