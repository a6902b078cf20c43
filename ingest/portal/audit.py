"""The audit log: every staff write leaves a row, in the same transaction."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

from psycopg.types.json import Jsonb

from ingest.portal._sql import Conn, many, run


@dataclass(frozen=True, slots=True, kw_only=True)
class AuditEntry:
    id: int
    at: datetime
    actor: str
    action: str
    entity: str
    entity_id: str
    details: dict[str, Any]


async def record(
    conn: Conn, *, actor: str, action: str, entity: str, entity_id: object, details: dict[str, Any]
) -> None:
    await run(
        conn,
        """INSERT INTO audit_log (actor, action, entity, entity_id, details)
           VALUES (%s, %s, %s, %s, %s)""",
        (actor, action, entity, str(entity_id), Jsonb(details)),
    )


async def entries(
    conn: Conn, *, entity: str | None, entity_id: str | None, limit: int, before_id: int | None
) -> list[AuditEntry]:
    """Newest first, optionally for one entity."""
    return await many(
        conn,
        AuditEntry,
        """SELECT id, at, actor, action, entity, entity_id, details FROM audit_log
           WHERE (%(entity)s::text IS NULL OR entity = %(entity)s)
             AND (%(eid)s::text IS NULL OR entity_id = %(eid)s)
             AND (%(before)s::bigint IS NULL OR id < %(before)s)
           ORDER BY id DESC LIMIT %(limit)s""",
        {"entity": entity, "eid": entity_id, "before": before_id, "limit": limit},
    )
