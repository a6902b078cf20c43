"""The batch writer: every reading lands exactly once, fast.

One transaction per batch. The common path is a binary COPY straight into
``readings`` inside a savepoint; only if the batch repeats a stored key (a
redelivery) is the savepoint rolled back and the batch taken through a staging
table with ``INSERT … ON CONFLICT DO NOTHING``. Duplicates are rare, so the
common path costs close to a bare COPY.

Readings that fail validation (unknown meter, a register the meter lacks, a
value at or past the meter's rollover, negative, too far in the future) go to
``dead_letters`` with the reason, in the same transaction; the rest is stored.
Connection loss is retried with jittered back-off; after the last attempt the
writer raises ``StoreUnavailable`` (the gateway spools the batch to disk).
"""

from __future__ import annotations

import asyncio
import json
import logging
import random
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

import psycopg
from psycopg import sql
from psycopg.rows import TupleRow
from psycopg_pool import AsyncConnectionPool, PoolTimeout

from drivers.domain import SOURCE_CODES, DeadLetter, Reading
from ingest.catalog import MeterCatalog, MeterInfo
from ingest.errors import StoreUnavailable

log = logging.getLogger(__name__)

COLUMNS = ("meter_id", "register", "read_at", "source", "value_wh", "quality", "origin")
COPY_TYPES = ("int4", "int2", "timestamptz", "int2", "int8", "int2", "text")
Row = tuple[int, int, datetime, int, int, int, str]

_COPY = sql.SQL("COPY {table} ({cols}) FROM STDIN (FORMAT BINARY)")
_STAGE_DDL = (
    "CREATE TEMP TABLE IF NOT EXISTS readings_stage"
    " (LIKE readings INCLUDING DEFAULTS) ON COMMIT DELETE ROWS"
)
_STAGE_INSERT = (
    f"INSERT INTO readings ({', '.join(COLUMNS)}) "
    f"SELECT {', '.join(COLUMNS)} FROM readings_stage ON CONFLICT DO NOTHING"
)


@dataclass(frozen=True, slots=True)
class WriteResult:
    """What happened to one batch."""

    inserted: int = 0
    duplicates: int = 0
    rejected: int = 0
    dead_letters: int = 0

    def __add__(self, other: WriteResult) -> WriteResult:
        return WriteResult(
            self.inserted + other.inserted,
            self.duplicates + other.duplicates,
            self.rejected + other.rejected,
            self.dead_letters + other.dead_letters,
        )


async def copy_rows(cur: psycopg.AsyncCursor[TupleRow], table: str, rows: Sequence[Row]) -> None:
    """Binary COPY of reading rows (``COLUMNS`` order) into ``table``."""
    stmt = _COPY.format(
        table=sql.Identifier(table), cols=sql.SQL(", ").join(map(sql.Identifier, COLUMNS))
    )
    async with cur.copy(stmt) as copy:
        copy.set_types(COPY_TYPES)
        for row in rows:
            await copy.write_row(row)


def reading_payload(reading: Reading) -> bytes:
    """A rejected reading as JSON, kept in its dead letter."""
    return json.dumps(
        {
            "meter": reading.meter,
            "register": reading.register,
            "read_at": reading.read_at.isoformat(),
            "value_wh": reading.value_wh,
            "source": reading.source.value,
            "quality": int(reading.quality),
            "origin": reading.origin,
        }
    ).encode()


class ReadingWriter:
    """Writes batches of readings (and dead letters) to the store, exactly once."""

    def __init__(
        self,
        pool: AsyncConnectionPool,
        *,
        record_invalidations: bool,
        future_tolerance: timedelta = timedelta(minutes=5),
        attempts: int = 3,
        backoff_base_s: float = 0.2,
        backoff_max_s: float = 5.0,
    ) -> None:
        """``record_invalidations``: true on plain PostgreSQL, where the store keeps
        its own rollup invalidation log (TimescaleDB keeps one itself)."""
        self._pool = pool
        self._catalog = MeterCatalog()
        self._record_invalidations = record_invalidations
        self._future_tolerance = future_tolerance
        self._attempts = attempts
        self._backoff_base_s = backoff_base_s
        self._backoff_max_s = backoff_max_s

    @property
    def catalog(self) -> MeterCatalog:
        return self._catalog

    async def write(
        self,
        readings: Sequence[Reading],
        dead_letters: Sequence[DeadLetter] = (),
        *,
        attempts: int | None = None,
    ) -> WriteResult:
        """Store one batch in one transaction; retry on connection loss
        (``attempts`` overrides the writer's setting, e.g. 1 for a probe)."""
        attempts = attempts or self._attempts
        for attempt in range(1, attempts + 1):
            try:
                return await self._write_once(readings, dead_letters)
            except (psycopg.OperationalError, PoolTimeout) as exc:
                if attempt == attempts:
                    raise StoreUnavailable(
                        f"database unreachable after {attempt} attempts: {exc}"
                    ) from exc
                delay = min(self._backoff_max_s, self._backoff_base_s * 2 ** (attempt - 1))
                delay *= random.uniform(0.5, 1.0)
                log.warning(
                    "write failed (%s); retry %d in %.2fs", exc.__class__.__name__, attempt, delay
                )
                await asyncio.sleep(delay)
        raise AssertionError("unreachable")  # pragma: no cover

    async def _write_once(
        self, readings: Sequence[Reading], dead_letters: Sequence[DeadLetter]
    ) -> WriteResult:
        async with self._pool.connection() as conn:
            await self._catalog.ensure(conn, {r.meter for r in readings})
            rows, rejected = self._validate(readings)
            async with conn.transaction():
                inserted = await self._insert(conn, rows) if rows else 0
                letters = [*dead_letters, *rejected]
                if letters:
                    await _store_dead_letters(conn, letters)
                if rows and self._record_invalidations:
                    await conn.execute(
                        "INSERT INTO rollup_invalidations (lo, hi) VALUES (%s, %s)",
                        (min(r[2] for r in rows), max(r[2] for r in rows)),
                    )
        return WriteResult(
            inserted=inserted,
            duplicates=len(rows) - inserted,
            rejected=len(rejected),
            dead_letters=len(dead_letters),
        )

    async def _insert(self, conn: psycopg.AsyncConnection[TupleRow], rows: list[Row]) -> int:
        try:
            async with conn.transaction(), conn.cursor() as cur:
                await copy_rows(cur, "readings", rows)
            return len(rows)
        except psycopg.errors.UniqueViolation:
            pass  # a redelivery: fall through to the idempotent path
        async with conn.cursor() as cur:
            await cur.execute(_STAGE_DDL)
            await copy_rows(cur, "readings_stage", rows)
            await cur.execute(_STAGE_INSERT)
            inserted = cur.rowcount
        return inserted

    def _validate(self, readings: Sequence[Reading]) -> tuple[list[Row], list[DeadLetter]]:
        """Split a batch into rows to store and dead letters with reasons.

        This loop runs once per reading on the hottest path: names are bound
        locally and the common case takes one branch.
        """
        limit = datetime.now(UTC) + self._future_tolerance
        meters = self._catalog.meters
        codes = SOURCE_CODES
        rows: list[Row] = []
        append = rows.append
        rejected: list[DeadLetter] = []
        for r in readings:
            meter = meters.get(r.meter)
            value = r.value_wh
            if (
                meter is not None
                and r.register in meter.registers
                and 0 <= value < meter.rollover_wh
                and r.read_at <= limit
            ):
                append(
                    (meter.id, r.register, r.read_at, codes[r.source], value, r.quality, r.origin)
                )
                continue
            rejected.append(
                DeadLetter(
                    kind="writer",
                    origin=r.origin or r.meter,
                    reason=_rejection(r, meter, limit),
                    payload=reading_payload(r),
                )
            )
        return rows, rejected


def _rejection(r: Reading, meter: MeterInfo | None, limit: datetime) -> str:
    """Why a reading cannot be stored (the checks of ``_validate``, spelled out)."""
    if meter is None:
        return f"unknown meter {r.meter!r}"
    if r.register not in meter.registers:
        return f"meter {r.meter} has no register {r.register}"
    if r.value_wh < 0:
        return f"negative value {r.value_wh} Wh"
    if r.value_wh >= meter.rollover_wh:
        return f"value {r.value_wh} Wh reaches the rollover of a {meter.digits}-digit register"
    if r.read_at > limit:
        return f"read_at {r.read_at.isoformat()} is in the future"
    raise AssertionError(f"reading {r} passes every check")  # pragma: no cover


async def _store_dead_letters(
    conn: psycopg.AsyncConnection[TupleRow], letters: Sequence[DeadLetter]
) -> None:
    async with conn.cursor() as cur:
        await cur.executemany(
            "INSERT INTO dead_letters (kind, origin, reason, payload, received_at)"
            " VALUES (%s, %s, %s, %s, %s)",
            [(d.kind, d.origin, d.reason, d.payload, d.received_at) for d in letters],
        )
