"""What was installed at the point and every reading used (P14)."""

from __future__ import annotations

import base64
import binascii
import json
from datetime import UTC, datetime, timedelta
from typing import Annotated

from fastapi import APIRouter, Query, Request, Response

from drivers.domain import KYIV, Source
from ingest.portal import history as history_sql
from ingest.portal.consumption import zone_name
from portal_api import points
from portal_api.bodies import json_body
from portal_api.deps import AccountPoint, Conn
from portal_api.errors import invalid, responses
from portal_api.fastpath import fast_path
from portal_api.links import page_link
from portal_api.schemas.common import kwh
from portal_api.schemas.history import InstallationOut, ReadingsPage, SourceName
from portal_api.usage import EARLIEST, LATEST

router = APIRouter(prefix="/accounts/{account_number}/history", tags=["history"])


@router.get(
    "/installations",
    summary="Meters installed at and removed from the point (P14)",
    responses=responses(401, 403, 404),
)
async def installations(point: AccountPoint, conn: Conn) -> list[InstallationOut]:
    return [
        InstallationOut(
            meter_serial=i.serial,
            meter_model=i.model,
            digits=i.digits,
            zones=i.zones,
            install_place=i.install_place,
            installed_at=i.installed_at,
            removed_at=i.removed_at,
            values_at_install={k: kwh(v) for k, v in i.values_at_install.items()},
            values_at_removal={k: kwh(v) for k, v in i.values_at_removal.items()},
        )
        for i in await history_sql.installations(conn, point.id)
    ]


def _encode(row: history_sql.HistoryRow) -> str:
    raw = json.dumps([row.read_at.isoformat(), row.meter_id, row.register, row.source_code])
    return base64.urlsafe_b64encode(raw.encode()).decode().rstrip("=")


def _decode(cursor: str) -> history_sql.Cursor:
    try:
        raw = base64.urlsafe_b64decode(cursor + "=" * (-len(cursor) % 4))
        at, meter, register, source = json.loads(raw)
        return history_sql.Cursor(
            read_at=datetime.fromisoformat(at),
            meter_id=int(meter),
            register=int(register),
            source_code=int(source),
        )
    except (ValueError, TypeError, binascii.Error) as exc:
        raise invalid("bad-cursor", "the cursor is not one this API gave out") from exc


@router.get(
    "/readings",
    summary="Every reading of the point's meters, with its source (P14)",
    response_model=ReadingsPage,
    responses=responses(401, 403, 404, 422),
)
@fast_path
async def readings(
    request: Request,
    point: AccountPoint,
    conn: Conn,
    period_from: Annotated[
        datetime | None, Query(description="Inclusive. Default: 92 days before period_to.")
    ] = None,
    period_to: Annotated[datetime | None, Query(description="Exclusive. Default: now.")] = None,
    source: Annotated[
        list[SourceName] | None, Query(description="Only these sources (repeatable).")
    ] = None,
    page_size: Annotated[int, Query(ge=1, le=1000)] = 100,
    cursor: Annotated[
        str | None, Query(max_length=200, description="From the previous page's `next`.")
    ] = None,
) -> Response:
    """Newest first: readings sent by the meter, submitted by the consumer, taken
    by the controller, estimated or corrected, while installed at this point."""
    end = _aware(period_to) if period_to else datetime.now(UTC)
    start = _aware(period_from) if period_from else end - timedelta(days=92)
    if not (EARLIEST <= start < end <= LATEST):
        raise invalid("bad-period", "need 2000-01-01 <= period_from < period_to <= 2100-01-01")
    sources = tuple(Source(s) for s in source) if source else tuple(Source)
    rows = await history_sql.readings(
        conn,
        stays=point.stays,
        start=start,
        end=end,
        sources=sources,
        after=_decode(cursor) if cursor else None,
        limit=page_size + 1,
        backend=request.app.state.store.backend,
    )
    names = points.zone_names(point)
    more = len(rows) > page_size
    rows = rows[:page_size]
    # Plain dicts, not a model per row: ~0.7 µs less each in Python (100 rows:
    # 400 -> 260 µs with the codes looked up instead of going through the enums).
    return json_body(
        {
            "next": page_link(request, cursor=_encode(rows[-1])) if more else None,
            "results": [
                {
                    "meter_serial": r.serial,
                    "register": r.register,
                    "zone": zone_name(names, r.register),
                    "read_at": r.read_at,
                    "value": kwh(r.value_wh),
                    "value_wh": r.value_wh,
                    "source": _SOURCE_NAMES[r.source_code],
                    "quality": r.quality_code,
                }
                for r in rows
            ],
        }
    )


_SOURCE_NAMES = {s.db_code: s.value for s in Source}


def _aware(value: datetime) -> datetime:
    return value if value.tzinfo is not None else value.replace(tzinfo=KYIV)
