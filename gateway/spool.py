"""The disk spool: batches wait here, durably, while the database is away.

SQLite in WAL mode with ``synchronous=FULL``: when ``put`` returns, the batch
survives a power cut, so the pipeline may acknowledge its messages. Batches
come back out oldest first. One row per batch; the payload is JSON (readings as
compact arrays, dead-letter bytes base64). Safe to use from one thread at a
time; the pipeline calls it through ``asyncio.to_thread``.
"""

from __future__ import annotations

import base64
import json
import sqlite3
import threading
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

from drivers.domain import DeadLetter, Quality, Reading, Source

_SCHEMA = """
CREATE TABLE IF NOT EXISTS batches (
    id        INTEGER PRIMARY KEY AUTOINCREMENT,
    spooled   TEXT    NOT NULL,
    readings  INTEGER NOT NULL,
    payload   BLOB    NOT NULL
)
"""


@dataclass(frozen=True, slots=True, kw_only=True)
class SpooledBatch:
    id: int
    readings: tuple[Reading, ...]
    dead_letters: tuple[DeadLetter, ...]


@dataclass(frozen=True, slots=True)
class SpoolDepth:
    batches: int
    readings: int


def _encode(readings: Sequence[Reading], dead_letters: Sequence[DeadLetter]) -> bytes:
    return json.dumps(
        {
            "r": [
                [
                    r.meter,
                    r.register,
                    r.read_at.isoformat(),
                    r.value_wh,
                    r.source.value,
                    int(r.quality),
                    r.origin,
                ]
                for r in readings
            ],
            "d": [
                [
                    d.kind,
                    d.origin,
                    d.reason,
                    base64.b64encode(d.payload).decode(),
                    d.received_at.isoformat(),
                ]
                for d in dead_letters
            ],
        },
        separators=(",", ":"),
    ).encode()


def _decode(payload: bytes) -> tuple[tuple[Reading, ...], tuple[DeadLetter, ...]]:
    data = json.loads(payload)
    readings = tuple(
        Reading(
            meter=m,
            register=reg,
            read_at=datetime.fromisoformat(at),
            value_wh=v,
            source=Source(src),
            quality=Quality(q),
            origin=o,
        )
        for m, reg, at, v, src, q, o in data["r"]
    )
    letters = tuple(
        DeadLetter(
            kind=k,
            origin=o,
            reason=why,
            payload=base64.b64decode(p),
            received_at=datetime.fromisoformat(at),
        )
        for k, o, why, p, at in data["d"]
    )
    return readings, letters


class Spool:
    """A durable FIFO of batches on disk."""

    def __init__(self, path: Path) -> None:
        path.parent.mkdir(parents=True, exist_ok=True)
        self._lock = threading.Lock()
        self._db = sqlite3.connect(path, check_same_thread=False, isolation_level=None)
        self._db.execute("PRAGMA journal_mode=WAL")
        self._db.execute("PRAGMA synchronous=FULL")
        self._db.execute(_SCHEMA)

    def put(self, readings: Sequence[Reading], dead_letters: Sequence[DeadLetter] = ()) -> int:
        """Append a batch durably; return its id."""
        with self._lock:
            cur = self._db.execute(
                "INSERT INTO batches (spooled, readings, payload) VALUES (?, ?, ?)",
                (datetime.now(UTC).isoformat(), len(readings), _encode(readings, dead_letters)),
            )
        assert cur.lastrowid is not None
        return cur.lastrowid

    def oldest(self) -> SpooledBatch | None:
        """The batch spooled first, or None when the spool is empty."""
        with self._lock:
            row = self._db.execute("SELECT id, payload FROM batches ORDER BY id LIMIT 1").fetchone()
        if row is None:
            return None
        readings, letters = _decode(row[1])
        return SpooledBatch(id=row[0], readings=readings, dead_letters=letters)

    def remove(self, batch_id: int) -> None:
        """Forget a batch once the store has committed it."""
        with self._lock:
            self._db.execute("DELETE FROM batches WHERE id = ?", (batch_id,))

    def depth(self) -> SpoolDepth:
        with self._lock:
            row = self._db.execute(
                "SELECT count(*), coalesce(sum(readings), 0) FROM batches"
            ).fetchone()
        return SpoolDepth(batches=int(row[0]), readings=int(row[1]))

    def close(self) -> None:
        with self._lock:
            self._db.close()
